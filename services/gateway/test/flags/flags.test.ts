import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { flagKey, HISTORY_LIMIT, historyKey } from '../../src/flags/store.js';
import { bucketOf } from '../../src/routing/bucketing.js';
import {
  ADMIN_TOKEN,
  bearer,
  operatorsFile,
  policyFor,
  REDIS_URL,
  startUpstream,
  testConfig,
  type Upstream,
  uniqueFlag,
  waitFor,
} from '../helpers.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const OPERATORS = { ADMIN_TOKENS_FILE: operatorsFile({ alice: 'operator', bob: 'operator' }) };

describe('the migration flag across replicas', () => {
  let monolith: Upstream;
  let movies: Upstream;
  const redis = new Redis(REDIS_URL);
  const apps: FastifyInstance[] = [];
  const flags: string[] = [];

  /** Two gateway replicas sharing one flag, as in production. */
  async function replicas(seed = { enabled: true, percent: 0 }, preset?: Record<string, string>) {
    const flag = uniqueFlag();
    flags.push(flag);
    if (preset) await redis.hset(flagKey(flag), preset);
    const table = policyFor({ monolith: monolith.url, movies: movies.url, events: monolith.url }, flag, seed);
    const pair = await Promise.all([
      buildApp(testConfig(OPERATORS), { policy: table }),
      buildApp(testConfig(OPERATORS), { policy: table }),
    ]);
    apps.push(...pair);
    for (const app of pair) await app.ready();
    // In sync with Redis: the seed (or preset) has been read.
    for (const app of pair)
      await waitFor(
        async () => (await app.inject({ url: '/ready' })).json().status === 'ready',
        5_000,
        'ready',
      );
    return { flag, a: pair[0]!, b: pair[1]! };
  }

  const upstreamOf = async (app: FastifyInstance, userId?: string) =>
    (await app.inject({ url: '/api/movies', headers: userId ? { 'x-user-id': userId } : {} })).headers[
      'x-upstream'
    ];

  beforeAll(async () => {
    [monolith, movies] = await Promise.all([startUpstream('monolith'), startUpstream('movies')]);
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await Promise.all([monolith.close(), movies.close()]);
    for (const flag of flags) await redis.del(flagKey(flag), historyKey(flag));
    redis.disconnect();
  });

  it('seeds Redis from the env only when it holds no value', async () => {
    const seeded = await replicas({ enabled: true, percent: 35 });
    expect(await redis.hgetall(flagKey(seeded.flag))).toEqual({
      enabled: 'true',
      percent: '35',
      allow: '[]',
      deny: '[]',
    });
    const kept = await replicas({ enabled: true, percent: 35 }, { enabled: 'true', percent: '80' });
    expect(await redis.hgetall(flagKey(kept.flag))).toEqual({ enabled: 'true', percent: '80' });
    expect((await kept.a.inject({ url: `/admin/flags/${kept.flag}`, headers: auth })).json()).toMatchObject({
      percent: 80,
    });
  });

  it('applies a change made through one replica’s admin API on the other within 100 ms', async () => {
    const { flag, a, b } = await replicas();
    expect(await upstreamOf(b)).toBe('monolith');
    const put = await a.inject({
      method: 'PUT',
      url: `/admin/flags/${flag}`,
      headers: bearer('alice'),
      payload: { percent: 100 },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ name: flag, enabled: true, percent: 100, effectivePercent: 100 });
    const elapsed = await waitFor(
      async () => (await upstreamOf(b)) === 'movies',
      100,
      'replica b to route to movies',
    );
    expect(elapsed).toBeLessThan(100);
  });

  it('applies a change written directly to Redis (as with redis-cli) within 100 ms', async () => {
    const { flag, a, b } = await replicas({ enabled: true, percent: 100 });
    expect(await upstreamOf(a)).toBe('movies');
    const writer = new Redis(REDIS_URL);
    await writer.hset(flagKey(flag), 'percent', '0');
    const elapsed = await waitFor(
      async () => (await upstreamOf(a)) === 'monolith' && (await upstreamOf(b)) === 'monolith',
      100,
      'both replicas to route to the monolith',
    );
    writer.disconnect();
    expect(elapsed).toBeLessThan(100);
  });

  it('sends everything to the new service when the flag is disabled (migration finished)', async () => {
    const { flag, a } = await replicas({ enabled: true, percent: 0 });
    await a.inject({
      method: 'PUT',
      url: `/admin/flags/${flag}`,
      headers: auth,
      payload: { enabled: false },
    });
    for (let i = 0; i < 20; i++) expect(await upstreamOf(a, `user-${i}`)).toBe('movies');
    expect((await a.inject({ url: `/admin/flags/${flag}`, headers: auth })).json()).toMatchObject({
      enabled: false,
      percent: 0,
      effectivePercent: 100,
    });
  });

  it('keeps a named user on the side their Unleash bucket says', async () => {
    const { flag, a, b } = await replicas({ enabled: true, percent: 50 });
    for (let i = 0; i < 30; i++) {
      const expected = bucketOf(flag, `u${i}`) <= 50 ? 'movies' : 'monolith';
      expect(await upstreamOf(a, `u${i}`)).toBe(expected);
      expect(await upstreamOf(b, `u${i}`)).toBe(expected);
    }
  });

  it('records who changed what in a bounded history', async () => {
    const { flag, a } = await replicas({ enabled: true, percent: 0 });
    for (const percent of [20, 40]) {
      await a.inject({
        method: 'PUT',
        url: `/admin/flags/${flag}`,
        headers: bearer('bob'),
        payload: { percent },
      });
    }
    const { history } = (await a.inject({ url: `/admin/flags/${flag}/history`, headers: auth })).json();
    expect(history).toHaveLength(2);
    expect(history[0]).toMatchObject({
      by: 'bob (127.0.0.1)',
      old: { enabled: true, percent: 20 },
      new: { enabled: true, percent: 40 },
    });
    expect(Date.parse(history[0].at)).toBeGreaterThan(Date.now() - 60_000);
    for (let i = 0; i < HISTORY_LIMIT + 5; i++) {
      await a.inject({
        method: 'PUT',
        url: `/admin/flags/${flag}`,
        headers: auth,
        payload: { percent: i % 101 },
      });
    }
    expect(await redis.llen(historyKey(flag))).toBe(HISTORY_LIMIT);
  });

  it('leaves out history entries nobody can read, and shows the rest', async () => {
    const { flag, a } = await replicas({ enabled: true, percent: 0 });
    await a.inject({
      method: 'PUT',
      url: `/admin/flags/${flag}`,
      headers: bearer('bob'),
      payload: { percent: 30 },
    });
    await redis.lpush(
      historyKey(flag),
      'not json',
      '[1,2]',
      'null',
      '{"at":"x","by":"y"}',
      '{"at":1,"new":{}}',
    );
    const res = await a.inject({ url: `/admin/flags/${flag}/history`, headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.json().history).toEqual([
      expect.objectContaining({ by: 'bob (127.0.0.1)', new: expect.objectContaining({ percent: 30 }) }),
    ]);
  });

  it('refuses bad admin requests with JSON naming the problem and leaves the flag untouched', async () => {
    const { flag, a } = await replicas({ enabled: true, percent: 10 });
    const put = (payload: string, headers: Record<string, string> = auth, name = flag) =>
      a.inject({
        method: 'PUT',
        url: `/admin/flags/${name}`,
        headers: { ...headers, 'content-type': 'application/json' },
        payload,
      });
    const cases: [Awaited<ReturnType<typeof put>>, number, RegExp][] = [
      [await put('{"percent":50}', {}), 401, /bearer token/],
      [await put('{"percent":50}', { authorization: 'Bearer wrong-token-wrong-token' }), 401, /bearer token/],
      [await put('{"percent":101}'), 400, /body\.percent: must be an integer from 0 to 100/],
      [await put('{"percent":"abc"}'), 400, /body\.percent/],
      [await put('{"percent":12.5}'), 400, /body\.percent/],
      [await put('{"enabled":"yes"}'), 400, /body\.enabled: must be true or false/],
      [await put('{"percent":5,"extra":1}'), 400, /extra/],
      [await put('{}'), 400, /give at least one of "enabled", "percent", "allow", "deny"/],
      [await put('{"percent":'), 400, /JSON/],
      [await put('{"percent":50}', auth, 'no-such-flag'), 404, /unknown flag "no-such-flag"/],
    ];
    for (const [res, status, message] of cases) {
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json().error).toMatch(message);
    }
    expect((await a.inject({ url: '/admin/flags' })).statusCode).toBe(401);
    expect((await a.inject({ url: '/admin/flags/no-such-flag/history', headers: auth })).statusCode).toBe(
      404,
    );
    expect(await redis.hgetall(flagKey(flag))).toEqual({
      enabled: 'true',
      percent: '10',
      allow: '[]',
      deny: '[]',
    });
    expect(await redis.llen(historyKey(flag))).toBe(0);
  });

  it('switches the admin API off when no token is configured', async () => {
    const flag = uniqueFlag();
    flags.push(flag);
    const app = await buildApp(testConfig({ ADMIN_TOKEN: '' }), {
      policy: policyFor({ monolith: monolith.url, movies: movies.url, events: monolith.url }, flag),
    });
    apps.push(app);
    const res = await app.inject({ url: '/admin/flags', headers: auth });
    expect(res.statusCode).toBe(404);
  });
});
