import { afterAll, describe, expect, it } from 'vitest';
import { ClusterCounters } from '../../src/redis/cluster-counters.js';
import { bucketBoundMs, SideStats } from '../../src/rollout/side-stats.js';
import { uniqueFlag } from '../helpers.js';
import { connect, ready } from './replicas.js';

const connections = [connect(), connect()];
afterAll(() => {
  for (const redis of connections) redis.disconnect();
});

describe('rollout side stats (real Redis, two replicas)', () => {
  it('sums both replicas per side; 5xx and fallbacks are errors, 4xx are not', async () => {
    await Promise.all(connections.map(ready));
    let now = 1_800_000_000_000;
    const clock = () => now;
    const counters = connections.map((redis) => new ClusterCounters(redis, { now: clock }));
    const [a, b] = counters.map((c) => new SideStats(c, { resolutionMs: 100, now: clock })) as [
      SideStats,
      SideStats,
    ];
    const flag = uniqueFlag();

    for (let i = 0; i < 97; i++) a.record(flag, 'old', 200, 0.04);
    a.record(flag, 'old', 404, 0.04);
    a.record(flag, 'old', 503, 0.04);
    b.record(flag, 'old', 502, 0.04);
    for (let i = 0; i < 98; i++) b.record(flag, 'new', 200, 0.04);
    // Decided for the new side, answered by the old one after the new one failed.
    b.record(flag, 'old', 200, 0.04, true);
    a.record(flag, 'new', 504, 0.04);
    now += 100;
    a.record(flag, 'new', 500, 0.04); // the next slot
    await Promise.all(counters.map((c) => c.flush()));

    const start = 1_800_000_000_000;
    // The upper bound of the bucket 40 ms falls in: 2^(22/4).
    const fortyBucket = expect.closeTo(45.25, 2);
    expect(await b.window(flag, start, start + 100)).toEqual({
      old: { requests: 100, errors: 2, errorRate: 0.02, p99Ms: fortyBucket },
      new: { requests: 100, errors: 2, errorRate: 0.02, p99Ms: fortyBucket },
    });
    expect((await a.window(flag, start, start + 200)).new).toMatchObject({ requests: 101, errors: 3 });
    expect((await a.window(flag, start + 100, start + 200)).new).toMatchObject({ requests: 1, errors: 1 });
    expect(await a.window(flag, start + 200, start + 300)).toEqual({
      old: { requests: 0, errors: 0, errorRate: 0, p99Ms: 0 },
      new: { requests: 0, errors: 0, errorRate: 0, p99Ms: 0 },
    });
  });

  it('has a p99 fine enough to tell 40 ms from 340 ms and 812 ms, within one bucket (19 %)', async () => {
    const counters = new ClusterCounters(connections[0]!);
    const stats = new SideStats(counters);
    const p99 = async (tailMs: number) => {
      const flag = uniqueFlag();
      const now = Date.now();
      // 98 fast requests and 2 slow: the 99th percentile is the slow one.
      for (let i = 0; i < 98; i++) stats.record(flag, 'new', 200, 0.004);
      stats.record(flag, 'new', 200, tailMs / 1000);
      stats.record(flag, 'new', 200, tailMs / 1000);
      await counters.flush();
      return (await stats.window(flag, now - 1_000, Date.now() + 1_000)).new.p99Ms;
    };
    for (const ms of [40, 340, 812, 30_000]) {
      const measured = await p99(ms);
      expect(measured).toBeGreaterThanOrEqual(ms);
      expect(measured).toBeLessThan(ms * 1.19);
    }
    expect(bucketBoundMs(64)).toBeGreaterThan(60_000);
  });
  it('reads consecutive windows and the last few as one, as window() reads each', async () => {
    let now = 1_800_000_100_000;
    const clock = () => now;
    const counters = new ClusterCounters(connections[0]!, { now: clock });
    const stats = new SideStats(counters, { resolutionMs: 100, now: clock });
    const flag = uniqueFlag();
    const start = now;
    // Step 0 (0-300 ms): 3 old; step 1: 2 new, one a 503; step 2: 1 old that took 340 ms.
    for (let i = 0; i < 3; i++) stats.record(flag, 'old', 200, 0.004);
    now += 300;
    stats.record(flag, 'new', 200, 0.004);
    now += 250;
    stats.record(flag, 'new', 503, 0.004);
    now += 50;
    stats.record(flag, 'old', 200, 0.34);
    await counters.flush();

    const read = await stats.windows(flag, { fromMs: start, stepMs: 300, count: 4, recentSteps: 2 });
    expect(read.steps.map((s) => [s.old.requests, s.new.requests, s.new.errors])).toEqual([
      [3, 0, 0],
      [0, 2, 1],
      [1, 0, 0],
      [0, 0, 0],
    ]);
    for (const [i, step] of read.steps.entries())
      expect(step).toEqual(await stats.window(flag, start + i * 300, start + (i + 1) * 300));
    expect(read.recent).toEqual(await stats.window(flag, start + 600, start + 1_200));
    expect(read.recent.old.p99Ms).toBeGreaterThanOrEqual(340);
  });
});
