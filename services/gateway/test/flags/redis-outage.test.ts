import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { flagKey } from '../../src/flags/store.js';
import { DedicatedRedis } from '../dedicated-redis.js';
import { ADMIN_TOKEN, policyFor, startUpstream, testConfig, type Upstream, waitFor } from '../helpers.js';

describe('Redis outage', () => {
  let redis: DedicatedRedis;
  let dir: string;
  let monolith: Upstream;
  let movies: Upstream;
  let app: FastifyInstance;
  const flag = 'movies';
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-redis-'));
    redis = await DedicatedRedis.create(dir, { persistent: true });
    [monolith, movies] = await Promise.all([startUpstream('monolith'), startUpstream('movies')]);
    app = await buildApp(testConfig({ REDIS_URL: redis.url }), {
      policy: policyFor({ monolith: monolith.url, movies: movies.url, events: monolith.url }, flag, {
        enabled: true,
        percent: 0,
      }),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
    await Promise.all([monolith.close(), movies.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  const ready = async () => (await app.inject({ url: '/ready' })).json() as { status: string; redis: string };

  it('starts and routes on the env seed while Redis is down, reporting degraded', async () => {
    const res = await app.inject({ url: '/api/movies' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-upstream']).toBe('monolith');
    const readiness = await app.inject({ url: '/ready' });
    expect(readiness.statusCode).toBe(200);
    expect(readiness.json()).toMatchObject({ status: 'degraded', redis: 'disconnected' });
    const put = await app.inject({
      method: 'PUT',
      url: `/admin/flags/${flag}`,
      headers: auth,
      payload: { percent: 50 },
    });
    expect(put.statusCode).toBe(503);
    expect(put.json().error).toMatch(/Redis\) is unreachable; nothing was changed/);
    // The shadow settings and the report (read from Redis) alike.
    for (const [method, payload] of [
      ['PUT', { percent: 50 }],
      ['GET', undefined],
    ] as const) {
      const shadow = await app.inject({ method, url: `/admin/flags/${flag}/shadow`, headers: auth, payload });
      expect(shadow.statusCode).toBe(503);
      expect(shadow.json().error).toMatch(/\(Redis\) (is|are) unreachable/);
    }
  });

  it('picks Redis up when it appears and seeds it', async () => {
    await redis.start();
    await waitFor(async () => (await ready()).status === 'ready', 5_000, 'the gateway to connect');
    const direct = new Redis(redis.url);
    expect(await direct.hgetall(flagKey(flag))).toEqual({
      enabled: 'true',
      percent: '0',
      allow: '[]',
      deny: '[]',
    });
    direct.disconnect();
  });

  it('fails no request while Redis stops mid-traffic, keeps the last value and recovers', async () => {
    await app.inject({
      method: 'PUT',
      url: `/admin/flags/${flag}`,
      headers: auth,
      payload: { percent: 100 },
    });
    let stop = false;
    const failures: string[] = [];
    const upstreams = new Set<string>();
    let sent = 0;
    const worker = async () => {
      while (!stop) {
        const res = await app.inject({ url: '/api/movies' });
        sent++;
        if (res.statusCode !== 200) failures.push(`${res.statusCode} ${res.body}`);
        upstreams.add(String(res.headers['x-upstream']));
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const workers = Array.from({ length: 4 }, worker);

    await redis.stop();
    await waitFor(async () => (await ready()).status === 'degraded', 5_000, 'degraded readiness');
    const sentWhileDown = sent;
    await waitFor(() => sent > sentWhileDown + 200, 5_000, 'traffic while Redis is down');
    expect(upstreams).toEqual(new Set(['movies']));

    await redis.start();
    await waitFor(async () => (await ready()).status === 'ready', 5_000, 'recovery');
    stop = true;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(200);

    // Tracking is back: a direct write reaches the gateway again.
    const direct = new Redis(redis.url);
    await direct.hset(flagKey(flag), 'percent', '0');
    direct.disconnect();
    await waitFor(
      async () => (await app.inject({ url: '/api/movies' })).headers['x-upstream'] === 'monolith',
      100,
      'the change after recovery',
    );
  });
});
