import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { flagKey, historyKey } from '../../src/flags/store.js';
import { policySchema } from '../../src/routing/policy.js';
import type { ShadowReport } from '../../src/shadow/report.js';
import { ADMIN_TOKEN, REDIS_URL, testConfig, uniqueFlag, waitFor } from '../helpers.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

interface MovieSide {
  origin: string;
  /** Requests by method; shadow copies (X-Shadow: 1) by method under `shadow:<METHOD>`. */
  byMethod: Map<string, number>;
  /** Requests open right now, and the most open at once. */
  open: number;
  maxOpen: number;
  close(): Promise<void>;
}

/**
 * A real movies upstream: `/api/movies?id=N` answers `{id, title, rating, served_at}`, where served_at
 * differs on every call. `changed(id)` makes this side's rating differ; `hangMs` delays every answer.
 */
async function movieSide(options: { changed?: (id: number) => boolean; hangMs?: number } = {}) {
  let calls = 0;
  const side = { byMethod: new Map<string, number>(), open: 0, maxOpen: 0 } as MovieSide;
  const count = (key: string) => side.byMethod.set(key, (side.byMethod.get(key) ?? 0) + 1);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    count(req.method!);
    if (req.headers['x-shadow'] === '1') count(`shadow:${req.method}`);
    side.open++;
    side.maxOpen = Math.max(side.maxOpen, side.open);
    res.once('close', () => side.open--);
    req.resume();
    req.on('end', () => {
      const query = new URL(req.url!, 'http://x').searchParams;
      const id = Number(query.get('id') ?? 0);
      const body = JSON.stringify({
        id,
        // `pad` makes the body that much larger: above 16 KiB the gateway streams it to the client.
        title: `Movie ${id}${'.'.repeat(Number(query.get('pad') ?? 0))}`,
        rating: options.changed?.(id) ? 8.6 : 8.5,
        served_at: `${new Date().toISOString()}#${calls++}`,
      });
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      if (options.hangMs) setTimeout(answer, options.hangMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  side.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  side.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  closers.push(side.close);
  return side;
}

/** A gateway listening on a free port whose migrating routes (each with its own flag) go old → new. */
async function gateway(
  old: MovieSide,
  now: MovieSide,
  routes: Record<string, string>,
  env: Record<string, string> = {},
) {
  const policy = policySchema.parse({
    upstreams: { monolith: old.origin, movies: now.origin },
    routes: Object.entries(routes).map(([prefix, flag]) => ({
      prefix,
      upstream: 'monolith',
      migrate: { flag, to: 'movies' },
    })),
    flags: Object.fromEntries(Object.values(routes).map((flag) => [flag, {}])),
  });
  const app = await buildApp(testConfig(env), { policy });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const pool = new Pool(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, {
    connections: 32,
  });
  closers.push(async () => {
    await pool.close();
    await app.close();
  });
  const flag = Object.values(routes)[0]!;
  await waitFor(
    async () =>
      (await app.inject({ url: '/ready' })).json().status === 'ready' &&
      (await app.inject({ url: `/admin/flags/${flag}/shadow`, headers: auth })).statusCode === 200,
    5_000,
    'the gateway in sync with Redis',
  );
  return { app, pool };
}

async function setShadow(app: FastifyInstance, flag: string, body: object) {
  const res = await app.inject({
    method: 'PUT',
    url: `/admin/flags/${flag}/shadow`,
    headers: auth,
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(200);
}

async function report(app: FastifyInstance, flag: string): Promise<ShadowReport> {
  const res = await app.inject({ url: `/admin/flags/${flag}/shadow`, headers: auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<ShadowReport>();
}

/** Sends the requests `concurrency` at a time; returns each one's latency in ms, in order. */
async function load(pool: Pool, paths: string[], concurrency: number, method = 'GET') {
  const latencies = new Array<number>(paths.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < paths.length) {
        const i = next++;
        const started = performance.now();
        const res = await pool.request({
          method: method as 'GET',
          path: paths[i]!,
          headers: { 'x-user-id': `u${i}` },
        });
        await res.body.dump();
        latencies[i] = performance.now() - started;
        expect(res.statusCode).toBe(200);
      }
    }),
  );
  return latencies;
}

const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.99)]!;
const ids = (n: number, prefix = '/api/movies') => Array.from({ length: n }, (_, i) => `${prefix}?id=${i}`);

const closers: Array<() => Promise<unknown>> = [];
const flags: string[] = [];
const redis = new Redis(REDIS_URL);
const newFlag = () => {
  const flag = uniqueFlag();
  flags.push(flag);
  return flag;
};
beforeAll(() => redis.ping());
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  for (const flag of flags) await redis.del(flagKey(flag), historyKey(flag));
  redis.disconnect();
});

describe('shadow traffic through the gateway', () => {
  it('finds the 3 % of ids whose rating changed, and marks served_at noise by itself', async () => {
    const flag = newFlag();
    const old = await movieSide();
    const now = await movieSide({ changed: (id) => id % 100 < 3 });
    const { app, pool } = await gateway(old, now, { '/api/movies': flag }, { SHADOW_MAX_IN_FLIGHT: '512' });
    await setShadow(app, flag, { percent: 100 });

    await load(pool, ids(5_000), 16);
    const final = await pollReport(app, flag, (r) => r.compared + r.errors + r.dropped + r.skipped >= 5_000);

    expect(final).toMatchObject({ compared: 5_000, errors: 0, dropped: 0, skipped: 0 });
    expect(final.mismatchRate).toBeGreaterThanOrEqual(0.02);
    expect(final.mismatchRate).toBeLessThanOrEqual(0.04);
    expect(final.paths[0]).toMatchObject({ path: '$.rating', excluded: null });
    expect(final.paths[0]!.mismatches).toBe(final.mismatched);
    const servedAt = final.paths.find((p) => p.path === '$.served_at');
    expect(servedAt).toMatchObject({ excluded: 'noise', mismatches: 0 });
    expect(servedAt!.noise).toBeGreaterThan(0);
    expect(final.ignore).toEqual([]);
    expect(final.samples.length).toBeGreaterThan(0);
    for (const sample of final.samples) {
      expect(sample).toMatchObject({ method: 'GET', chosen: 'old', status: { old: 200, new: 200 } });
      expect(sample.differences).toEqual([{ path: '$.rating', old: '8.5', new: '8.6' }]);
      expect(Number(new URL(sample.url, 'http://x').searchParams.get('id')) % 100).toBeLessThan(3);
    }
    // The copies really went to the other side, marked as copies.
    expect(now.byMethod.get('shadow:GET')).toBe(5_000);
  }, 60_000);

  it('keeps clients as fast as without shadowing while the shadow side hangs, within the cap', async () => {
    const shadowed = newFlag();
    const plain = newFlag();
    const old = await movieSide();
    const now = await movieSide({ hangMs: 2_000 });
    const cap = 8;
    const { app, pool } = await gateway(
      old,
      now,
      { '/api/movies': shadowed, '/api/films': plain },
      { SHADOW_MAX_IN_FLIGHT: String(cap), SHADOW_TIMEOUT_MS: '5000' },
    );
    await setShadow(app, shadowed, { percent: 100 });

    // Interleaved, so both routes see the same load on the machine: the unshadowed route is the baseline.
    const n = 3_000;
    const paths = ids(n).flatMap((path, i) => [path, `/api/films?id=${i}`]);
    const latencies = await load(pool, paths, 8);
    const withShadow = latencies.filter((_, i) => i % 2 === 0);
    const without = latencies.filter((_, i) => i % 2 === 1);
    const final = await pollReport(app, shadowed, (r) => r.compared + r.errors + r.dropped >= n);

    expect(p99(withShadow), `p99 ${p99(withShadow)} ms vs ${p99(without)} ms`).toBeLessThanOrEqual(
      p99(without) + 2,
    );
    expect(now.maxOpen).toBeGreaterThan(0);
    expect(now.maxOpen).toBeLessThanOrEqual(cap);
    // Every shadowed request either reached the hanging side or was dropped; none was queued.
    expect(final.dropped).toBeGreaterThan(0);
    expect(final.dropped + (now.byMethod.get('shadow:GET') ?? 0)).toBe(n);
    expect(now.byMethod.get('GET')).toBe(now.byMethod.get('shadow:GET'));
  }, 60_000);

  it('compares streamed bodies too, and skips those above SHADOW_MAX_BODY_BYTES', async () => {
    const flag = newFlag();
    const old = await movieSide();
    const now = await movieSide({ changed: (id) => id < 3 });
    const { app, pool } = await gateway(
      old,
      now,
      { '/api/movies': flag },
      { SHADOW_MAX_BODY_BYTES: '100000' },
    );
    await setShadow(app, flag, { percent: 100, ignore: ['$.served_at'] });

    await load(
      pool,
      ids(20).map((path) => `${path}&pad=40000`),
      4,
    );
    await load(pool, [`/api/movies?id=50&pad=150000`], 1);
    const final = await pollReport(app, flag, (r) => r.compared + r.skipped >= 21);

    expect(final).toMatchObject({ compared: 20, mismatched: 3, skipped: 1, errors: 0 });
    expect(final.paths[0]).toMatchObject({ path: '$.rating', mismatches: 3 });
    expect(final.paths.find((p) => p.path === '$.served_at')).toMatchObject({ excluded: 'ignore' });
  }, 30_000);

  it('never sends a write to the shadow side', async () => {
    const flag = newFlag();
    const old = await movieSide();
    const now = await movieSide();
    const { app, pool } = await gateway(old, now, { '/api/movies': flag });
    await setShadow(app, flag, { percent: 100 });

    for (const method of ['POST', 'PUT', 'DELETE']) await load(pool, ids(100), 4, method);
    await load(pool, ids(50), 4);
    await pollReport(app, flag, (r) => r.compared >= 50);

    expect(old.byMethod.get('POST')).toBe(100);
    expect(old.byMethod.get('PUT')).toBe(100);
    expect(old.byMethod.get('DELETE')).toBe(100);
    expect(now.byMethod.get('GET')).toBe(50);
    expect([...now.byMethod.keys()].sort()).toEqual(['GET', 'shadow:GET']);
  }, 30_000);

  it('sums the counts of two gateways sharing one Redis in either one’s report', async () => {
    const flag = newFlag();
    const old = await movieSide();
    const now = await movieSide();
    const a = await gateway(old, now, { '/api/movies': flag });
    const b = await gateway(old, now, { '/api/movies': flag });
    await setShadow(a.app, flag, { percent: 100 });
    // Through CLIENT TRACKING, b sees a's change without being told.
    await pollReport(b.app, flag, (r) => r.percent === 100);

    await Promise.all([load(a.pool, ids(300), 4), load(b.pool, ids(200), 4)]);
    const fromA = await pollReport(a.app, flag, (r) => r.compared >= 500);
    const fromB = await pollReport(b.app, flag, (r) => r.compared >= 500);

    expect(fromA.compared).toBe(500);
    expect(fromB.compared).toBe(500);
    expect(fromB).toMatchObject({ mismatched: 0, errors: 0, dropped: 0 });
    expect(now.byMethod.get('shadow:GET')).toBe(500);
  }, 30_000);
});

async function pollReport(app: FastifyInstance, flag: string, done: (report: ShadowReport) => boolean) {
  let last: ShadowReport | undefined;
  await waitFor(
    async () => {
      last = await report(app, flag);
      return done(last);
    },
    15_000,
    `the report of ${flag} (last: ${JSON.stringify(last)})`,
  );
  return last!;
}

describe('the shadow admin API', () => {
  it('validates, stores in the flag hash, records history, and reads a redis-cli write', async () => {
    const flag = newFlag();
    const old = await movieSide();
    const now = await movieSide();
    const { app } = await gateway(old, now, { '/api/movies': flag });
    const put = (payload: object) =>
      app.inject({ method: 'PUT', url: `/admin/flags/${flag}/shadow`, headers: auth, payload });

    const bad = await put({ percent: 150 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/percent/);
    const badPath = await put({ ignore: ['served_at'] });
    expect(badPath.statusCode).toBe(400);
    expect(badPath.json().error).toMatch(/ignore\.0/);
    expect((await put({ percent: 10, extra: 1 })).json().error).toMatch(/"extra"/);
    expect(
      (
        await app.inject({
          method: 'PUT',
          url: '/admin/flags/nope/shadow',
          headers: auth,
          payload: { percent: 1 },
        })
      ).statusCode,
    ).toBe(404);
    expect((await app.inject({ url: `/admin/flags/${flag}/shadow` })).statusCode).toBe(401);

    const ok = await put({ percent: 25, ignore: ['$.served_at'] });
    expect(ok.json()).toMatchObject({ percent: 25, ignore: ['$.served_at'] });
    const since = ok.json().since as string;
    expect(await redis.hgetall(flagKey(flag))).toMatchObject({
      shadow_percent: '25',
      shadow_ignore: '["$.served_at"]',
      shadow_since: since,
    });
    const { history } = (await app.inject({ url: `/admin/flags/${flag}/history`, headers: auth })).json();
    expect(history[0].new.shadow).toEqual({ percent: 25, ignore: ['$.served_at'], since });

    const reset = await app.inject({
      method: 'POST',
      url: `/admin/flags/${flag}/shadow/reset`,
      headers: auth,
    });
    expect(reset.statusCode).toBe(200);
    expect(reset.json().since > since).toBe(true);

    // Written by hand: every replica's flag store picks it up through CLIENT TRACKING.
    await redis.hset(flagKey(flag), 'shadow_percent', '60');
    await pollReport(app, flag, (r) => r.percent === 60);
    // Exported values stay the routing value alone.
    const exported = (await app.inject({ url: '/admin/flags/export', headers: auth })).json();
    expect(Object.keys(exported.flags[flag]).sort()).toEqual(['allow', 'deny', 'enabled', 'percent']);
  }, 30_000);
});
