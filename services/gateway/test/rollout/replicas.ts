import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ClusterCounters } from '../../src/redis/cluster-counters.js';
import { RolloutControls } from '../../src/rollout/controls.js';
import { type MismatchSource, RolloutDriver } from '../../src/rollout/driver.js';
import type { FlagWriter } from '../../src/rollout/flag-writer.js';
import { Leases } from '../../src/rollout/lease.js';
import { type Side, SideStats } from '../../src/rollout/side-stats.js';
import { RolloutStore } from '../../src/rollout/store.js';
import { REDIS_URL } from '../helpers.js';

/** Timing of the tests' rollouts: short enough to run fast, with counts flushed well within settleMs. */
export const TIMING = { flushMs: 15, settleMs: 40, tickMs: 30, leaseMs: 240, resolutionMs: 50 };

/** The flag as the rollout writes it: every call recorded, the current percent read by the traffic. */
export class RecordingWriter implements FlagWriter {
  readonly calls: Array<{ flag: string; percent: number; reason: string }> = [];
  percent = 0;
  async setPercent(flag: string, percent: number, reason: string): Promise<void> {
    this.calls.push({ flag, percent, reason });
    this.percent = percent;
  }
  percents(): number[] {
    return this.calls.map((call) => call.percent);
  }
}

export const connect = (url = REDIS_URL) => {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 500,
    retryStrategy: () => 50,
  });
  redis.on('error', () => {});
  return redis;
};
export const ready = (redis: Redis) =>
  redis.status === 'ready' ? Promise.resolve() : new Promise((resolve) => redis.once('ready', resolve));

const quiet = { info() {}, warn() {} };

/** One gateway replica's rollout parts, on its own Redis connection, as the gateway would build them. */
export class Replica {
  readonly redis: Redis;
  readonly counters: ClusterCounters;
  readonly stats: SideStats;
  readonly store: RolloutStore;
  readonly driver: RolloutDriver;
  readonly controls: RolloutControls;

  constructor(flag: string, writer: FlagWriter, options: { url?: string; mismatch?: MismatchSource } = {}) {
    this.redis = connect(options.url);
    this.counters = new ClusterCounters(this.redis, { flushMs: TIMING.flushMs }).start();
    this.stats = new SideStats(this.counters, { resolutionMs: TIMING.resolutionMs });
    this.store = new RolloutStore(this.redis);
    this.driver = new RolloutDriver({
      flags: () => [flag],
      store: this.store,
      leases: new Leases(this.redis, `replica-${randomUUID().slice(0, 8)}`, TIMING.leaseMs),
      stats: this.stats,
      writer,
      ...(options.mismatch && { mismatch: options.mismatch }),
      log: quiet,
      tickMs: TIMING.tickMs,
      settleMs: TIMING.settleMs,
    });
    this.controls = new RolloutControls(this.store, writer, {
      shadow: { shadowing: () => options.mismatch !== undefined },
    });
  }

  async start(): Promise<this> {
    await ready(this.redis);
    this.driver.start();
    return this;
  }

  async close(): Promise<void> {
    await this.driver.close();
    await this.counters.close();
    this.redis.disconnect();
  }
}

/** How one side answers: a status and latency for each request. */
export type Behaviour = () => { status: number; seconds: number };
export const healthy: Behaviour = () => ({ status: 200, seconds: 0.002 + Math.random() * 0.003 });

/**
 * Synthetic traffic on a migrating route, split across the replicas: `perMs` requests a millisecond
 * each (counted from the clock, so a late timer does not thin the traffic), sent to the new side at the
 * writer's current percent and answered as `sides` says.
 */
export function runTraffic(
  flag: string,
  writer: RecordingWriter,
  replicas: Replica[],
  sides: { old: Behaviour; new: Behaviour },
  perMs = 2,
) {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const n = Math.round((now - last) * perMs);
    last = now;
    for (const replica of replicas) {
      for (let i = 0; i < n; i++) {
        const side: Side = Math.random() * 100 < writer.percent ? 'new' : 'old';
        const { status, seconds } = sides[side]();
        replica.stats.record(flag, side, status, seconds);
      }
    }
  }, 5);
  return { stop: () => clearInterval(timer) };
}

/**
 * Polls `check` every 5 ms until it holds; rejects at the deadline. Unlike helpers' waitFor (which spins
 * on setImmediate to measure propagation to the millisecond), it leaves the CPU to the replicas under test.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
