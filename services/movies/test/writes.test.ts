import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { testConfig } from './helpers.js';

// POST /api/movies handed to the owner, against a stand-in owner that answers what each test needs.

const neverReplicated = 2_147_483_000;
let owner: FastifyInstance;
let ownerUrl: string;
const received: { body: string; contentType?: string; requestId?: string }[] = [];

beforeAll(async () => {
  owner = Fastify();
  owner.removeAllContentTypeParsers();
  owner.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  owner.post('/api/movies', async (request, reply) => {
    const body = String(request.body ?? '');
    received.push({
      body,
      contentType: request.headers['content-type'],
      requestId: request.headers['x-request-id'] as string | undefined,
    });
    if (body.includes('slow')) await new Promise((resolve) => setTimeout(resolve, 2_000));
    if (body.includes('refuse'))
      return reply.code(422).type('application/problem+json').send('{"why":"owner rule"}');
    if (body.includes('broken')) return reply.code(500).send({ error: 'Internal Server Error' });
    return reply.code(201).send({ id: neverReplicated, title: 'x', description: '', rating: 0, genres: [] });
  });
  await owner.listen({ host: '127.0.0.1', port: 0 });
  ownerUrl = `http://127.0.0.1:${(owner.server.address() as AddressInfo).port}`;
});
afterAll(() => owner.close());

async function moviesWith(env: Record<string, string>) {
  const app = await buildApp(testConfig({ MONOLITH_URL: ownerUrl, ...env }));
  await app.ready();
  return app;
}

describe('a write that reaches the movies service while the monolith owns writes', () => {
  it("goes to the owner byte for byte, and the owner's refusal comes back unchanged", async () => {
    const app = await moviesWith({});
    try {
      const payload = '{"title": "refuse",  "Title": "kept as sent"}';
      const res = await app.inject({
        method: 'POST',
        url: '/api/movies',
        headers: { 'content-type': 'text/plain', 'x-request-id': 'req-42' },
        payload,
      });
      const direct = await fetch(`${ownerUrl}/api/movies`, { method: 'POST', body: payload });
      expect(res.statusCode).toBe(422);
      expect(res.headers['content-type']).toBe(direct.headers.get('content-type'));
      expect(res.body).toBe(await direct.text());
      expect(received.at(-2)).toEqual({ body: payload, contentType: 'text/plain', requestId: 'req-42' });
      const broken = await app.inject({ method: 'POST', url: '/api/movies', payload: '{"title":"broken"}' });
      expect([broken.statusCode, broken.json()]).toEqual([500, { error: 'Internal Server Error' }]);
    } finally {
      await app.close();
    }
  });

  it('answers 504 naming the lag when the created movie is not readable here in time', async () => {
    const app = await moviesWith({ DATA_READ_YOUR_WRITE_TIMEOUT_MS: '200' });
    try {
      const res = await app.inject({ method: 'POST', url: '/api/movies', payload: '{"title":"t"}' });
      expect(res.statusCode).toBe(504);
      expect(res.json().error).toMatch(
        new RegExp(
          `^movie ${neverReplicated} was created by the owner but is not readable here after \\d+ ms: replication lag`,
        ),
      );
    } finally {
      await app.close();
    }
  });

  it('answers 504 when the owner does not answer in time, 502 when it cannot be reached', async () => {
    const slow = await moviesWith({ MONOLITH_TIMEOUT_MS: '200' });
    const down = await moviesWith({ MONOLITH_URL: 'http://127.0.0.1:1' });
    try {
      const late = await slow.inject({ method: 'POST', url: '/api/movies', payload: '{"title":"slow"}' });
      expect([late.statusCode, late.json()]).toEqual([
        504,
        { error: `the owner of movie writes (${ownerUrl}) did not answer within 200 ms` },
      ]);
      const refused = await down.inject({ method: 'POST', url: '/api/movies', payload: '{"title":"t"}' });
      expect([refused.statusCode, refused.json()]).toEqual([
        502,
        { error: 'the owner of movie writes (http://127.0.0.1:1) is unreachable' },
      ]);
    } finally {
      await Promise.all([slow.close(), down.close()]);
    }
  });
});
