import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { ADMIN_TOKEN, testConfig } from './helpers.js';

describe('named operators', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp(testConfig());
  });
  afterAll(() => app.close());

  it('names the caller of ADMIN_TOKEN the operator "admin" (GET /admin/me)', async () => {
    const me = await app.inject({ url: '/admin/me', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({ name: 'admin', role: 'operator' });
    const stranger = await app.inject({ url: '/admin/me', headers: { authorization: 'Bearer nope' } });
    expect(stranger.statusCode).toBe(401);
    expect(stranger.json()).toEqual({ error: 'missing or invalid bearer token' });
  });
});
