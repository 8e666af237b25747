import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { flagKey } from '../../src/flags/store.js';
import { bucketOf } from '../../src/routing/bucketing.js';
import { DedicatedRedis } from '../dedicated-redis.js';
import {
  bearer,
  operatorsFile,
  policyFor,
  startUpstream,
  testConfig,
  type Upstream,
  waitFor,
} from '../helpers.js';

const FLAG = 'movies';
const TOKEN = 'flag-restore-test-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const OPERATORS = operatorsFile({ alice: 'operator' });
const RESTORED_BY = `restored by gateway ${hostname()}`;

/**
 * Redis without persistence: every restart comes back empty, as after a failover to an empty replica.
 * Each step waits for its condition with its own deadline; the test timeout only bounds their sum.
 */
describe('a flag Redis comes back without', { timeout: 30_000 }, () => {
  let monolith: Upstream;
  let movies: Upstream;
  let dir: string;
  const apps: FastifyInstance[] = [];
  const servers: DedicatedRedis[] = [];
  const clients: Redis[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-flag-restore-'));
    [monolith, movies] = await Promise.all([startUpstream('monolith'), startUpstream('movies')]);
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(apps.map((app) => app.close()));
    await Promise.all(servers.map((server) => server.stop()));
    await Promise.all([monolith.close(), movies.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  async function emptyRedis(): Promise<DedicatedRedis> {
    const server = await DedicatedRedis.create(await mkdtemp(join(dir, 'redis-')), { persistent: false });
    servers.push(server);
    return server;
  }
  const direct = (server: DedicatedRedis) => {
    const client = new Redis(server.url);
    clients.push(client);
    return client;
  };

  /** A gateway whose env seed for the flag is 0 %, so routing at 50 % can only come from elsewhere. */
  async function gateway(redisUrl: string, overrides: Record<string, string> = {}) {
    const table = policyFor({ monolith: monolith.url, movies: movies.url, events: monolith.url }, FLAG, {
      enabled: true,
      percent: 0,
    });
    const app = await buildApp(
      testConfig({ REDIS_URL: redisUrl, ADMIN_TOKEN: TOKEN, ADMIN_TOKENS_FILE: OPERATORS, ...overrides }),
      {
        policy: table,
      },
    );
    apps.push(app);
    await app.ready();
    return app;
  }
  const status = async (app: FastifyInstance) => (await app.inject({ url: '/ready' })).json().status;
  const untilStatus = (gateways: FastifyInstance[], wanted: string) =>
    waitFor(
      async () => (await Promise.all(gateways.map(status))).every((s) => s === wanted),
      5_000,
      `every gateway to report ${wanted}`,
    );
  const flagOf = async (app: FastifyInstance) =>
    (await app.inject({ url: `/admin/flags/${FLAG}`, headers: auth })).json();
  const history = async (app: FastifyInstance) =>
    (await app.inject({ url: `/admin/flags/${FLAG}/history`, headers: auth })).json().history;

  /** Each named user lands on the side their bucket gives at 50 %: some on each side. */
  async function expectRoutingAt50(app: FastifyInstance) {
    const sides = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const user = `user-${i}`;
      const res = await app.inject({ url: '/api/movies', headers: { 'x-user-id': user } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-upstream'], user).toBe(bucketOf(FLAG, user) <= 50 ? 'movies' : 'monolith');
      sides.add(String(res.headers['x-upstream']));
    }
    expect(sides).toEqual(new Set(['movies', 'monolith']));
  }

  it('keeps an operator’s 50 % on both replicas when Redis restarts empty, written back once', async () => {
    const redis = await emptyRedis();
    await redis.start();
    const pair = [await gateway(redis.url), await gateway(redis.url)];
    const [a, b] = pair as [FastifyInstance, FastifyInstance];
    await untilStatus(pair, 'ready');
    const put = await a.inject({
      method: 'PUT',
      url: `/admin/flags/${FLAG}`,
      headers: bearer('alice'),
      payload: { percent: 50 },
    });
    expect(put.statusCode).toBe(200);
    await waitFor(async () => (await flagOf(b)).percent === 50, 5_000, 'replica b to see 50 %');

    await redis.stop();
    await untilStatus(pair, 'degraded');
    for (const app of pair) await expectRoutingAt50(app);

    await redis.start();
    await untilStatus(pair, 'ready');
    expect(await direct(redis).hgetall(flagKey(FLAG))).toEqual({
      enabled: 'true',
      percent: '50',
      allow: '[]',
      deny: '[]',
    });
    // The restart lost alice's entry too; racing replicas wrote back exactly one.
    expect(await history(b)).toEqual([
      {
        at: expect.any(String),
        by: RESTORED_BY,
        old: null,
        new: { enabled: true, percent: 50, allow: [], deny: [] },
      },
    ]);
    for (const app of pair) {
      expect(await flagOf(app)).toMatchObject({ enabled: true, percent: 50, source: 'redis' });
      await expectRoutingAt50(app);
    }
  });

  it('writes a flag deleted at runtime straight back, once, though both replicas race to', async () => {
    const redis = await emptyRedis();
    await redis.start();
    const pair = [await gateway(redis.url), await gateway(redis.url)];
    const [a, b] = pair as [FastifyInstance, FastifyInstance];
    await untilStatus(pair, 'ready');
    await a.inject({ method: 'PUT', url: `/admin/flags/${FLAG}`, headers: auth, payload: { percent: 50 } });
    await waitFor(async () => (await flagOf(b)).percent === 50, 5_000, 'replica b to see 50 %');

    // One invalidation reaches both replicas, and each runs the restore script.
    const client = direct(redis);
    await client.del(flagKey(FLAG));
    await waitFor(
      async () => (await client.hget(flagKey(FLAG), 'percent')) === '50',
      5_000,
      'the deleted flag to be written back',
    );
    for (const app of pair) await expectRoutingAt50(app);
    // A later change seen by both means each one's script for the delete has run: it was sent earlier on
    // the same connection.
    await a.inject({ method: 'PUT', url: `/admin/flags/${FLAG}`, headers: auth, payload: { percent: 60 } });
    for (const app of pair)
      await waitFor(async () => (await flagOf(app)).percent === 60, 5_000, 'both replicas to see 60 %');
    expect((await history(a)).map((entry: { by: string }) => entry.by)).toEqual([
      'admin (127.0.0.1)',
      RESTORED_BY,
      'admin (127.0.0.1)',
    ]);
  });

  it('starts on the snapshot file while Redis is down, not the seed, and restores it into an empty Redis', async () => {
    const file = join(dir, 'flags-50.json');
    const saved = { savedAt: new Date().toISOString(), flags: { [FLAG]: { enabled: true, percent: 50 } } };
    await writeFile(file, JSON.stringify(saved));
    const redis = await emptyRedis();
    const app = await gateway(redis.url, { FLAG_SNAPSHOT_FILE: file });

    const readiness = (await app.inject({ url: '/ready' })).json();
    expect(readiness).toMatchObject({
      status: 'degraded',
      flags: { [FLAG]: { enabled: true, percent: 50, source: 'snapshot' } },
    });
    expect(await flagOf(app)).toMatchObject({ percent: 50, source: 'snapshot' });
    await expectRoutingAt50(app);

    await redis.start();
    await untilStatus([app], 'ready');
    expect(await direct(redis).hgetall(flagKey(FLAG))).toEqual({
      enabled: 'true',
      percent: '50',
      allow: '[]',
      deny: '[]',
    });
    expect((await history(app)).map((entry: { by: string }) => entry.by)).toEqual([RESTORED_BY]);
    expect(await flagOf(app)).toMatchObject({ percent: 50, source: 'redis' });
    await expectRoutingAt50(app);

    // And the file follows what Redis says.
    await app.inject({ method: 'PUT', url: `/admin/flags/${FLAG}`, headers: auth, payload: { percent: 70 } });
    await waitFor(
      async () => JSON.parse(await readFile(file, 'utf8')).flags[FLAG].percent === 70,
      5_000,
      'the snapshot file to hold 70 %',
    );
  });

  it('ignores a corrupt snapshot file: starts on the env seed and seeds Redis without a history entry', async () => {
    const file = join(dir, 'corrupt.json');
    await writeFile(file, '{"savedAt": "2026-12-01T00:00:00.000Z", "flags": {"movies": {"enabled": tr');
    const redis = await emptyRedis();
    const app = await gateway(redis.url, { FLAG_SNAPSHOT_FILE: file });
    expect(await flagOf(app)).toMatchObject({ enabled: true, percent: 0, source: 'seed' });

    await redis.start();
    await untilStatus([app], 'ready');
    expect(await direct(redis).hgetall(flagKey(FLAG))).toEqual({
      enabled: 'true',
      percent: '0',
      allow: '[]',
      deny: '[]',
    });
    expect(await history(app)).toEqual([]);
    await waitFor(
      async () => {
        try {
          return JSON.parse(await readFile(file, 'utf8')).flags[FLAG].percent === 0;
        } catch {
          return false;
        }
      },
      5_000,
      'the corrupt snapshot file to be replaced',
    );
  });
});
