import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { DataStatusSource } from '../data/status.js';
import type { FlagStore } from '../flags/store.js';
import type { ClusterRedis } from '../redis/cluster.js';
import { RedisUnavailableError, whileReady } from '../redis/connection.js';
import { RolloutControls, type ShadowCheck } from './controls.js';
import { type MismatchSource, RolloutDriver } from './driver.js';
import type { FlagWriter } from './flag-writer.js';
import { Leases } from './lease.js';
import { SideStats } from './side-stats.js';
import { RolloutStore } from './store.js';

/** What the rollout needs of shadow traffic to judge `maxMismatchRate`. */
export interface ShadowSource extends MismatchSource, ShadowCheck {}

const unavailable = () =>
  new RedisUnavailableError(
    'rollout store',
    'nothing was changed, and every rollout is frozen until it is back',
  );

/**
 * A gateway replica's rollout parts on the cluster's Redis: the per-side counts the proxy records, the
 * operator's controls and the driver loop, which starts once Redis is ready. The connection fails fast:
 * a frozen rollout is the answer to an outage, not a queue of stale writes.
 */
export function createRollouts(
  config: Config,
  {
    cluster: { redis, counters },
    flags,
    log,
    shadow,
    data,
    dataDomainOf,
  }: {
    cluster: ClusterRedis;
    flags: FlagStore;
    log: FastifyBaseLogger;
    shadow: ShadowSource;
    /** The data domains' status (data/status.ts), which gates a rollout of a flag with a domain. */
    data: DataStatusSource;
    /** A flag's data domain (the routing policy's `data` field), whose status gates its rollout. */
    dataDomainOf: (flag: string) => string | undefined;
  },
) {
  const stats = new SideStats(counters, { resolutionMs: config.ROLLOUT_RESOLUTION_MS });
  const store = new RolloutStore(redis);
  // The flag store's public update, so every percent a rollout sets is in the flag's history.
  const writer: FlagWriter = {
    async setPercent(flag, percent, reason) {
      await flags.update(flag, { percent }, reason);
    },
  };
  const driver = new RolloutDriver({
    flags: () => flags.names(),
    store,
    leases: new Leases(redis, `${hostname()}-${randomUUID().slice(0, 8)}`, config.ROLLOUT_LEASE_MS),
    stats,
    writer,
    mismatch: shadow,
    data,
    dataDomainOf,
    log,
    settleMs: config.ROLLOUT_SETTLE_MS,
  });
  const controls = new RolloutControls(store, writer, { shadow, dataDomainOf });
  let closed = false;
  const start = () => {
    if (!closed) driver.start();
  };
  if (redis.status === 'ready') start();
  else redis.once('ready', start);

  return {
    stats,
    controls,
    driver,
    /**
     * Runs an operator's action; with Redis unreachable it becomes a 503 saying so. A 4xx, or the flag
     * store's own outage error, passes through unchanged.
     */
    guard: <T>(action: () => Promise<T>): Promise<T> => whileReady(redis, unavailable, action),
    /** Before the cluster's Redis and the flag store close: the driver hands its leases over. */
    async close(): Promise<void> {
      closed = true;
      await driver.close();
    },
  };
}

export type Rollouts = ReturnType<typeof createRollouts>;
