import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { flagKey, historyKey } from '../../src/flags/store.js';
import { bucketOf } from '../../src/routing/bucketing.js';
import {
  ADMIN_TOKEN,
  REDIS_URL,
  startUpstream,
  testConfig,
  type Upstream,
  uniqueFlag,
  waitFor,
} from '../helpers.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * A second domain strangled by configuration alone: /api/users moves to a users upstream under its own
 * flag, declared in a routes file the test writes, with no code of its own.
 */
describe('a routes file migrating a second domain', () => {
  let monolith: Upstream;
  let users: Upstream;
  let app: FastifyInstance;
  const redis = new Redis(REDIS_URL);
  const flag = uniqueFlag();
  const moviesFlag = uniqueFlag();

  const call = async (method: 'GET' | 'POST' | 'HEAD', path: string, headers: Record<string, string> = {}) =>
    (await app.inject({ method, url: path, headers, ...(method === 'POST' ? { payload: {} } : {}) })).headers[
      'x-upstream'
    ];
  const put = (name: string, payload: unknown) =>
    app.inject({ method: 'PUT', url: `/admin/flags/${name}`, headers: auth, payload: payload as object });

  beforeAll(async () => {
    [monolith, users] = await Promise.all([startUpstream('monolith'), startUpstream('users')]);
    const file = join(mkdtempSync(join(tmpdir(), 'gateway-routes-')), 'routes.yaml');
    writeFileSync(
      file,
      `upstreams:
  monolith: ${monolith.url}
  users: ${users.url}
  movies: ${users.url}
routes:
  - { prefix: /api/users, upstream: monolith, migrate: { flag: ${flag}, to: users } }
  - { prefix: /api/movies, upstream: monolith, migrate: { flag: ${moviesFlag}, to: movies } }
  - { prefix: /api, upstream: monolith }
flags:
  ${flag}:
    seed: { enabled: true, percent: 0 }
    methods: [GET, HEAD]
    force: x-migration-force
  ${moviesFlag}: {}
`,
    );
    app = await buildApp(testConfig({ GATEWAY_ROUTES_FILE: file }));
    await app.ready();
    await waitFor(
      async () => (await app.inject({ url: '/ready' })).json().status === 'ready',
      5_000,
      'ready',
    );
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([monolith.close(), users.close()]);
    await redis.del(flagKey(flag), historyKey(flag), flagKey(moviesFlag), historyKey(moviesFlag));
    redis.disconnect();
  });

  it('moves /api/users from 0 to 100 % through the admin API, users on their Unleash buckets', async () => {
    expect(await call('GET', '/api/users?id=1', { 'x-user-id': 'u1' })).toBe('monolith');
    const ids = Array.from({ length: 100 }, (_, i) => `user-${i}`);
    for (const percent of [0, 30, 100]) {
      expect((await put(flag, { percent })).statusCode).toBe(200);
      for (const id of ids) {
        const expected = bucketOf(flag, id) <= percent ? 'users' : 'monolith';
        expect(await call('GET', '/api/users', { 'x-user-id': id })).toBe(expected);
      }
    }
    expect(users.hits.get('/api/users')).toBeGreaterThan(100);
    // The other routes stay where they were.
    expect(await call('GET', '/api/payments')).toBe('monolith');
  }, 30_000);

  it('keeps methods outside the scope (POST) on the old side at 100 %', async () => {
    expect((await put(flag, { percent: 100 })).statusCode).toBe(200);
    expect(await call('GET', '/api/users')).toBe('users');
    expect(await call('HEAD', '/api/users')).toBe('users');
    expect(await call('POST', '/api/users')).toBe('monolith');
  });

  it('pins a request both ways with the force header', async () => {
    await put(flag, { percent: 0 });
    expect(await call('GET', '/api/users', { 'x-migration-force': 'new' })).toBe('users');
    await put(flag, { percent: 100 });
    expect(await call('GET', '/api/users', { 'x-migration-force': 'old' })).toBe('monolith');
    // The force header does not reach the upstream's decision of another flag.
    expect(await call('GET', '/api/movies', { 'x-migration-force': 'new' })).toBe('monolith');
  });

  it('lets allow and deny win over the percent, sticky for those users', async () => {
    const change = await put(flag, { percent: 0, allow: ['tester-1', 'tester-2'], deny: ['vip'] });
    expect(change.statusCode).toBe(200);
    expect(change.json()).toMatchObject({
      allow: ['tester-1', 'tester-2'],
      deny: ['vip'],
      routes: ['/api/users'],
    });
    for (let i = 0; i < 20; i++) {
      expect(await call('GET', '/api/users', { 'x-user-id': 'tester-1' })).toBe('users');
      expect(await call('GET', '/api/users', { 'x-user-id': 'someone' })).toBe('monolith');
    }
    await put(flag, { percent: 100 });
    for (let i = 0; i < 20; i++) {
      expect(await call('GET', '/api/users', { 'x-user-id': 'vip' })).toBe('monolith');
      expect(await call('GET', '/api/users', { 'x-user-id': 'someone' })).toBe('users');
    }
    // /ready answers anyone: each flag's split, never the user ids on its lists.
    const ready = (await app.inject({ url: '/ready' })).body;
    expect(ready).not.toMatch(/tester-1|"vip"/);
    expect(Object.keys(JSON.parse(ready).flags[flag]).sort()).toEqual(['enabled', 'percent', 'source']);
    // Stored as the lists, next to the fields redis-cli users know.
    expect(await redis.hgetall(flagKey(flag))).toMatchObject({
      allow: '["tester-1","tester-2"]',
      deny: '["vip"]',
    });
    const decisions = (await app.inject({ url: '/metrics' })).body;
    expect(decisions).toMatch(
      new RegExp(`gateway_routing_decisions_total\\{flag="${flag}",upstream="users",reason="allow"\\} \\d+`),
    );
    expect(decisions).toMatch(
      new RegExp(
        `gateway_routing_decisions_total\\{flag="${flag}",upstream="monolith",reason="deny"\\} \\d+`,
      ),
    );
  });

  it('refuses bad lists with 400 naming the problem, and writes nothing', async () => {
    const before = await redis.hgetall(flagKey(flag));
    const cases: [unknown, RegExp][] = [
      [
        { allow: Array.from({ length: 1001 }, (_, i) => `u${i}`) },
        /body\.allow: must hold at most 1000 user ids/,
      ],
      [{ deny: [''] }, /body\.deny\.0: must be a non-empty user id/],
      [{ deny: ['x'.repeat(129)] }, /at most 128 characters/],
      [{ allow: [7] }, /body\.allow\.0: must be a user id/],
      [{ allow: ['a'], deny: ['a'] }, /user id "a" is also in allow/],
      [{ percent: 101 }, /body\.percent: must be an integer from 0 to 100/],
    ];
    for (const [payload, message] of cases) {
      const res = await put(flag, payload);
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(res.json().error).toMatch(message);
    }
    expect((await put('nope', { percent: 1 })).statusCode).toBe(404);
    expect(await redis.hgetall(flagKey(flag))).toEqual(before);
  });

  it('exports every flag and imports the document back exactly, one history entry per changed flag', async () => {
    await put(flag, { enabled: true, percent: 25, allow: ['a-1'], deny: ['d-1'] });
    await put(moviesFlag, { percent: 60 });
    const exported = (await app.inject({ url: '/admin/flags/export', headers: auth })).json();
    expect(exported.flags[flag]).toEqual({ enabled: true, percent: 25, allow: ['a-1'], deny: ['d-1'] });
    expect(exported.flags[moviesFlag]).toEqual({ enabled: true, percent: 60, allow: [], deny: [] });

    await put(flag, { percent: 90, allow: [], deny: [] });
    const historyBefore = await redis.llen(historyKey(moviesFlag));
    const imported = await app.inject({
      method: 'PUT',
      url: '/admin/flags/import',
      headers: auth,
      payload: exported,
    });
    expect(imported.statusCode).toBe(200);
    expect(imported.json().changed).toEqual([flag]);
    expect((await app.inject({ url: '/admin/flags/export', headers: auth })).json()).toEqual(exported);
    expect(await redis.llen(historyKey(moviesFlag))).toBe(historyBefore);
    const [entry] = (await app.inject({ url: `/admin/flags/${flag}/history`, headers: auth })).json().history;
    expect(entry).toMatchObject({ old: { percent: 90, allow: [] }, new: { percent: 25, allow: ['a-1'] } });
  });

  it('validates a whole import before writing any of it', async () => {
    const before = (await app.inject({ url: '/admin/flags/export', headers: auth })).json();
    const bad = [
      { flags: { [flag]: { enabled: true, percent: 5 }, nope: { enabled: true, percent: 5 } } },
      { flags: { [flag]: { enabled: true, percent: 5 }, [moviesFlag]: { enabled: true, percent: 500 } } },
      { flags: { [flag]: { enabled: true } } },
      { flags: [] },
    ];
    for (const payload of bad) {
      const res = await app.inject({ method: 'PUT', url: '/admin/flags/import', headers: auth, payload });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatch(/^body\.flags/);
    }
    expect((await app.inject({ url: '/admin/flags/export', headers: auth })).json()).toEqual(before);
  });
});
