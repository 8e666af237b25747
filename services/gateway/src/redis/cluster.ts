import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { ClusterCounters } from './cluster-counters.js';
import { failFastRedis } from './connection.js';

/** What the cluster-wide parts (shadow comparisons, rollouts) share: one connection, one set of counters. */
export interface ClusterRedis {
  redis: Redis;
  /** Flushed once for both: a rollout window judges its shadow mismatches with its own traffic. */
  counters: ClusterCounters;
  isConnected(): boolean;
  /** After every part that counts has closed: writes the last counts, then hangs up. */
  close(): Promise<void>;
}

/**
 * The gateway's connection for everything but the flags (which track their keys on connections of their
 * own, flags/sync.ts): counts, samples, rollout state and leases.
 */
export function connectCluster(
  config: { REDIS_URL: string; CLUSTER_COUNTERS_FLUSH_MS: number },
  log: FastifyBaseLogger,
): ClusterRedis {
  const redis = failFastRedis(config.REDIS_URL, 'gateway-cluster', log);
  const counters = new ClusterCounters(redis, { flushMs: config.CLUSTER_COUNTERS_FLUSH_MS }).start();
  return {
    redis,
    counters,
    isConnected: () => redis.status === 'ready',
    async close() {
      await counters.close();
      await redis.quit().catch(() => {});
      redis.disconnect();
    },
  };
}
