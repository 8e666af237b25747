import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { fastifyOptions } from './options.js';

describe('fastifyOptions', () => {
  const app = Fastify(fastifyOptions({ logLevel: 'silent' }));
  app.get('/id', async (request) => ({ id: request.id }));
  const idFor = async (given?: string) =>
    (await app.inject({ url: '/id', headers: given === undefined ? {} : { 'x-request-id': given } })).json()
      .id as string;

  it("reuses a well-formed caller's X-Request-Id", async () => {
    expect(await idFor('req-42.A_b')).toBe('req-42.A_b');
    expect(await idFor('x'.repeat(128))).toBe('x'.repeat(128));
  });

  it('replaces a malformed or missing one with a UUID', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    for (const given of [undefined, '', 'x'.repeat(129), 'a b', 'evil\\ninjected', '<script>', 'ü'])
      expect(await idFor(given)).toMatch(uuid);
  });
});
