import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { HttpError } from '@cinemaabyss/service-kit';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { FlagStore } from '../flags/store.js';
import { ClusterCounters, failFastRedis } from '../telemetry/cluster-counters.js';
import { RolloutControls, type ShadowCheck } from './controls.js';
import { type MismatchSource, RolloutDriver } from './driver.js';
import type { FlagWriter } from './flag-writer.js';
import { Leases } from './lease.js';
import { SideStats } from './side-stats.js';
import { RolloutStore } from './store.js';

/** What the rollout needs of shadow traffic to judge `maxMismatchRate`; unset until shadowing is wired. */
export interface ShadowSource extends MismatchSource, ShadowCheck {}

const UNAVAILABLE =
  'rollout store (Redis) is unreachable; nothing was changed, and every rollout is frozen until it is back; retry when /ready reports redis connected';

/**
 * A gateway replica's rollout parts on a Redis connection of their own: the per-side counts the proxy
 * records, the operator's controls and the driver loop, which starts once Redis is ready.
 */
export function createRollouts(
  config: Config,
  { flags, log, shadow }: { flags: FlagStore; log: FastifyBaseLogger; shadow?: ShadowSource },
) {
  // Fail fast: a frozen rollout is the answer to an outage, not a queue of stale writes.
  const redis = failFastRedis(config.REDIS_URL, 'gateway-rollouts', log);
  const counters = new ClusterCounters(redis, { flushMs: config.CLUSTER_COUNTERS_FLUSH_MS }).start();
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
    ...(shadow && { mismatch: shadow }),
    log,
    settleMs: config.ROLLOUT_SETTLE_MS,
  });
  const controls = new RolloutControls(store, writer, shadow ? { shadow } : {});
  let closed = false;
  redis.once('ready', () => {
    if (!closed) driver.start();
  });

  return {
    stats,
    controls,
    driver,
    /**
     * Runs an operator's action; with Redis unreachable it becomes a 503 saying so. A 4xx, or the flag
     * store's own outage error (the admin routes answer it 503), passes through unchanged.
     */
    async guard<T>(action: () => Promise<T>): Promise<T> {
      if (redis.status !== 'ready') throw new HttpError(503, UNAVAILABLE);
      try {
        return await action();
      } catch (error) {
        if (!(error instanceof HttpError) && redis.status !== 'ready') throw new HttpError(503, UNAVAILABLE);
        throw error;
      }
    },
    /** Before the flag store closes: the driver hands its leases over, the last counts are written. */
    async close(): Promise<void> {
      closed = true;
      await driver.close();
      await counters.close();
      await redis.quit().catch(() => {});
      redis.disconnect();
    },
  };
}

export type Rollouts = ReturnType<typeof createRollouts>;
