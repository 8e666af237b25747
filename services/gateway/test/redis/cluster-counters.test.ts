import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ClusterCounters, windowKey } from '../../src/redis/cluster-counters.js';
import { REDIS_URL, refusedUrl } from '../helpers.js';

const connections: Redis[] = [];
const connect = (url = REDIS_URL) => {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: false });
  redis.on('error', () => {});
  connections.push(redis);
  return redis;
};
const ready = (redis: Redis) =>
  redis.status === 'ready' ? Promise.resolve() : new Promise((resolve) => redis.once('ready', resolve));
afterAll(() => {
  for (const redis of connections) redis.disconnect();
});

describe('cluster counters (real Redis)', () => {
  it('sums what every replica counted, per series and over a time range', async () => {
    const series = `test-${randomUUID()}`;
    let now = 1_700_000_000_000;
    const clock = () => now;
    const [a, b] = [connect(), connect()];
    await Promise.all([ready(a), ready(b)]);
    const first = new ClusterCounters(a, { now: clock });
    const second = new ClusterCounters(b, { now: clock });

    first.add(series, 'requests', 3);
    second.add(series, 'requests');
    second.add(series, 'errors');
    now += 1_000;
    first.add(series, 'requests', 10);
    second.add(`${series}-other`, 'requests', 99);
    await Promise.all([first.flush(), second.flush()]);

    const start = 1_700_000_000_000;
    expect(await first.read(series, start, start + 2_000)).toEqual({ requests: 14, errors: 1 });
    expect(await second.read(series, start, start + 1_000)).toEqual({ requests: 4, errors: 1 });
    expect(await second.read(series, start + 1_000, start + 2_000)).toEqual({ requests: 10 });
    expect(await a.ttl(windowKey(series, start / 1000))).toBeGreaterThan(3_000);
  });

  it('keeps counts while Redis is unreachable, within the bound, and writes them later', async () => {
    const series = `test-${randomUUID()}`;
    let now = 1_700_000_100_000;
    const down = connect(await refusedUrl());
    const counters = new ClusterCounters(down, { now: () => now, maxPendingSeconds: 5 });
    counters.add(series, 'requests', 2);
    await expect(counters.flush()).rejects.toThrow();
    now += 1_000;
    counters.add(series, 'requests', 5);
    await expect(counters.flush()).rejects.toThrow();

    // Swap in a working connection: the pending counts are written, none twice.
    const up = connect();
    await ready(up);
    Object.assign(counters, { redis: up });
    await counters.flush();
    expect(await counters.read(series, 1_700_000_100_000, now + 1_000)).toEqual({ requests: 7 });
    expect(counters.droppedWindows).toBe(0);

    counters.add(series, 'requests', 1);
    Object.assign(counters, { redis: down });
    now += 10_000;
    await expect(counters.flush()).rejects.toThrow();
    expect(counters.droppedWindows).toBe(1);
  });
});
