import type { FastifyBaseLogger } from 'fastify';
import { Agent } from 'undici';
import { ClusterCounters, failFastRedis } from '../telemetry/cluster-counters.js';
import type { ShadowConfig } from './config.js';
import { Mirror } from './mirror.js';
import { ShadowRecorder } from './recorder.js';
import { buildShadowReport, type ShadowReport } from './report.js';
import type { ShadowSettings } from './settings.js';
import { Shadower } from './shadower.js';

/**
 * The shadow pieces of one gateway: their own Redis connection (counts and samples, written off the
 * request path) and their own connection pool, so shadow copies never take the connections users' requests
 * wait for.
 */
export function createShadowing(
  config: ShadowConfig & {
    REDIS_URL: string;
    UPSTREAM_TIMEOUT_MS: number;
    CLUSTER_COUNTERS_FLUSH_MS: number;
  },
  log: FastifyBaseLogger,
) {
  // Fail fast instead of queueing: a report asked for while Redis is down is a 503, not a wait.
  const redis = failFastRedis(config.REDIS_URL, 'gateway-shadow', log);
  // Flushed as often as the rollout's counts, so a rollout window judges its mismatches with its traffic.
  const counters = new ClusterCounters(redis, { flushMs: config.CLUSTER_COUNTERS_FLUSH_MS }).start();
  const recorder = new ShadowRecorder(redis, counters).start();
  const dispatcher = new Agent({ connections: config.SHADOW_MAX_IN_FLIGHT, keepAliveTimeout: 4_000 });
  const mirror = new Mirror({
    dispatcher,
    timeoutMs: config.SHADOW_TIMEOUT_MS,
    maxBodyBytes: config.SHADOW_MAX_BODY_BYTES,
    maxInFlight: config.SHADOW_MAX_IN_FLIGHT,
  });
  const shadower = new Shadower({
    mirror,
    recorder,
    maxBodyBytes: config.SHADOW_MAX_BODY_BYTES,
    noiseEvery: config.SHADOW_NOISE_EVERY,
    // A chosen answer can take the upstream timeout for its headers and again for its body.
    holdMs: 2 * config.UPSTREAM_TIMEOUT_MS,
  });
  return {
    shadower,
    mirror,
    recorder,
    /** GET /admin/flags/:name/shadow; throws while Redis is unreachable. */
    report: (flag: string, settings: ShadowSettings): Promise<ShadowReport> =>
      buildShadowReport(redis, counters, flag, settings),
    /** The mismatch rate of the comparisons in [fromMs, toMs), for a rollout's maxMismatchRate. */
    async window(flag: string, settings: ShadowSettings, fromMs: number, toMs: number) {
      const report = await buildShadowReport(redis, counters, flag, settings, { window: { fromMs, toMs } });
      return { rate: report.mismatchRate ?? 0, samples: report.compared };
    },
    isConnected: () => redis.status === 'ready',
    async close(): Promise<void> {
      // Shadow copies still out are of no use to anyone: not waited for.
      await dispatcher.destroy();
      await Promise.all([recorder.close(), counters.close()]);
      await redis.quit().catch(() => {});
      redis.disconnect();
    },
  };
}

export type Shadowing = ReturnType<typeof createShadowing>;
