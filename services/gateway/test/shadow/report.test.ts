import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterCounters } from '../../src/redis/cluster-counters.js';
import type { Answer, Difference } from '../../src/shadow/compare.js';
import { Mirror } from '../../src/shadow/mirror.js';
import { PATTERN_LIMIT, SAMPLE_LIMIT, ShadowRecorder, samplesKey } from '../../src/shadow/recorder.js';
import { buildShadowReport } from '../../src/shadow/report.js';
import { resetShadow, type ShadowSettings } from '../../src/shadow/settings.js';
import { Shadower } from '../../src/shadow/shadower.js';
import { renderFamilies } from '../../src/telemetry/exposition.js';
import { REDIS_URL, uniqueFlag, waitFor } from '../helpers.js';

const closers: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** A movies upstream: `served_at` differs on every call; `changed(id)` ids get another rating. */
async function movies(changed: (id: number) => boolean) {
  const server = createServer((req, res) => {
    const id = Number(/\/api\/movies\/(\d+)/.exec(req.url ?? '')?.[1]);
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(
      JSON.stringify({
        id,
        title: `Movie ${id}`,
        genres: ['Drama', 'Crime'],
        rating: changed(id) ? 8.6 : 8.5,
        served_at: new Date().toISOString() + Math.random(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One gateway replica's shadow parts, on its own Redis connection. */
async function replica() {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await redis.ping();
  const dispatcher = new Agent();
  const counters = new ClusterCounters(redis);
  const recorder = new ShadowRecorder(redis, counters, { sampleTtlSeconds: 600 });
  const mirror = new Mirror({ dispatcher, timeoutMs: 2_000, maxBodyBytes: 256 * 1024, maxInFlight: 64 });
  const shadower = new Shadower({
    mirror,
    recorder,
    maxBodyBytes: 256 * 1024,
    noiseEvery: 10,
    holdMs: 10_000,
  });
  closers.push(async () => {
    await dispatcher.close();
    redis.disconnect();
  });
  return { redis, dispatcher, counters, recorder, mirror, shadower };
}
type Replica = Awaited<ReturnType<typeof replica>>;

/** What the proxy does for one request: ask the chosen side, hand its answer over, wait for the outcome. */
async function shadowedGet(
  gateway: Replica,
  flag: string,
  settings: ShadowSettings,
  id: number,
  sides: { old: string; new: string },
  chosenIsNew: boolean,
) {
  const url = `/api/movies/${id}?lang=en`;
  const chosenOrigin = chosenIsNew ? sides.new : sides.old;
  const before = renderFamilies(gateway.recorder.metricFamilies());
  const run = gateway.shadower.begin({
    flag,
    settings,
    method: 'GET',
    url,
    headers: { 'x-user-id': `user-${id}` },
    userId: `user-${id}`,
    chosenOrigin,
    otherOrigin: chosenIsNew ? sides.old : sides.new,
    chosenIsNew,
  });
  const response = await request(`${chosenOrigin}${url}`, { dispatcher: gateway.dispatcher });
  const answer: Answer = {
    status: response.statusCode,
    contentType: response.headers['content-type'] as string,
    contentEncoding: undefined,
    body: Buffer.from(await response.body.arrayBuffer()),
  };
  run!.chosen(answer);
  // The outcome is recorded off the request path; wait for this replica to count it.
  await waitFor(
    () => renderFamilies(gateway.recorder.metricFamilies()) !== before && gateway.mirror.inFlight === 0,
    5_000,
    `the comparison of ${url}`,
  );
}

const flushAll = (...gateways: Replica[]) =>
  Promise.all(gateways.flatMap((g) => [g.counters.flush(), g.recorder.flush()]));

describe('shadow report (real Redis, real HTTP upstreams)', () => {
  let a: Replica;
  let b: Replica;
  let sides: { old: string; new: string };
  const changed = (id: number) => id % 33 === 0;
  beforeAll(async () => {
    [a, b] = await Promise.all([replica(), replica()]);
    sides = { old: await movies(() => false), new: await movies(changed) };
  });

  it('sums both replicas, learns served_at as noise and finds the changed ratings', async () => {
    const flag = uniqueFlag();
    const settings: ShadowSettings = {
      percent: 100,
      ignore: [],
      since: new Date(Date.now() - 1_000).toISOString(),
    };
    const ids = Array.from({ length: 1_000 }, (_, i) => i + 1);
    // Both replicas at once, each choosing the old side for some users and the new one for others.
    for (let i = 0; i < ids.length; i += 20) {
      await Promise.all(
        ids
          .slice(i, i + 20)
          .map((id) => shadowedGet(id % 2 ? a : b, flag, settings, id, sides, id % 3 === 0)),
      );
    }
    await flushAll(a, b);
    const expected = ids.filter(changed).length;
    expect(expected).toBe(30);

    const fromA = await buildShadowReport(a.redis, a.counters, flag, settings);
    const fromB = await buildShadowReport(b.redis, b.counters, flag, settings);
    expect(fromB).toEqual(fromA);
    expect(fromA).toMatchObject({
      percent: 100,
      since: settings.since,
      compared: 1_000,
      mismatched: expected,
      matched: 1_000 - expected,
      mismatchRate: 0.03,
      errors: 0,
      dropped: 0,
      skipped: 0,
      probes: 100,
    });
    expect(fromA.paths).toEqual([
      { path: '$.rating', mismatches: expected, differed: expected, noise: 0, excluded: null },
      { path: '$.served_at', mismatches: 0, differed: 1_000, noise: 100, excluded: 'noise' },
    ]);
    expect(fromA.samples).toHaveLength(SAMPLE_LIMIT);
    for (const sample of fromA.samples) {
      const id = Number(/\/api\/movies\/(\d+)\?lang=en$/.exec(sample.url)?.[1]);
      expect(changed(id)).toBe(true);
      expect(sample).toMatchObject({
        method: 'GET',
        userId: `user-${id}`,
        chosen: id % 3 === 0 ? 'new' : 'old',
        status: { old: 200, new: 200 },
        differences: [{ path: '$.rating', old: '8.5', new: '8.6' }],
      });
    }
    expect(await a.redis.ttl(samplesKey(flag, settings.since))).toBeGreaterThan(500);

    // The ignore list applies to what was already counted.
    const ignoring = await buildShadowReport(a.redis, a.counters, flag, {
      ...settings,
      ignore: ['$.rating'],
    });
    expect(ignoring).toMatchObject({ compared: 1_000, mismatched: 0, mismatchRate: 0, samples: [] });
    expect(ignoring.paths.find((p) => p.path === '$.rating')).toMatchObject({
      path: '$.rating',
      mismatches: 0,
      excluded: 'ignore',
    });

    // A reset starts a new, empty report; the old one is left to expire.
    const reset = resetShadow(settings, new Date(Date.now() + 1_000));
    expect(await buildShadowReport(b.redis, b.counters, flag, reset)).toMatchObject({
      since: reset.since,
      compared: 0,
      mismatchRate: null,
      paths: [],
      samples: [],
    });

    const metrics = `${renderFamilies(a.recorder.metricFamilies())}${renderFamilies(b.recorder.metricFamilies())}`;
    const total = (result: string) =>
      [
        ...metrics.matchAll(
          new RegExp(`gateway_shadow_total\\{flag="${flag}",result="${result}"\\} (\\d+)`, 'g'),
        ),
      ]
        .map((m) => Number(m[1]))
        .reduce((x, y) => x + y, 0);
    expect(total('match') + total('mismatch')).toBe(1_000);
    expect(total('mismatch')).toBeGreaterThanOrEqual(expected);
    expect(renderFamilies(a.recorder.metricFamilies())).toMatch(
      /^# HELP gateway_shadow_total .+\n# TYPE gateway_shadow_total counter\n/,
    );
  }, 30_000);

  it('counts a comparison beyond the signature bound as a mismatch, noise or not', async () => {
    const flag = uniqueFlag();
    const settings: ShadowSettings = {
      percent: 100,
      ignore: [],
      since: new Date(Date.now() - 1_000).toISOString(),
    };
    const difference = (path: string): Difference => ({ path, pattern: path, a: 1, b: 2 });
    const context = { method: 'GET', url: '/x', userId: undefined, chosen: 'old' as const };
    for (let i = 0; i < PATTERN_LIMIT + 5; i++)
      a.recorder.compared(flag, settings.since, [], [difference(`$.k${i}`)], { old: 200, new: 200 }, context);
    a.recorder.noise(flag, settings.since, [difference('$')]);
    await flushAll(a);
    const report = await buildShadowReport(a.redis, a.counters, flag, settings);
    // Noise at `$` covers every signature it could read; the five it could not store still count.
    expect(report).toMatchObject({ compared: PATTERN_LIMIT + 5, mismatched: 5 });
    expect(report.samples.length).toBeLessThanOrEqual(SAMPLE_LIMIT);
  });
});
