import { Agent } from 'undici';
import type { ClusterRedis } from '../redis/cluster.js';
import { RedisUnavailableError, whileReady } from '../redis/connection.js';
import type { ShadowConfig } from './config.js';
import { Mirror } from './mirror.js';
import { ShadowRecorder } from './recorder.js';
import { buildShadowReport, type ShadowReport } from './report.js';
import type { ShadowSettings } from './settings.js';
import { Shadower } from './shadower.js';

const unavailable = () => new RedisUnavailableError('shadow store', 'no report can be read');

/**
 * The shadow pieces of one gateway: counts and samples go to the cluster's Redis (written off the request
 * path), and shadow copies use a connection pool of their own, so they never take the connections users'
 * requests wait for.
 */
export function createShadowing(
  config: ShadowConfig & { UPSTREAM_TIMEOUT_MS: number },
  { redis, counters }: ClusterRedis,
) {
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
    /** GET /admin/flags/:name/shadow; a RedisUnavailableError while Redis is unreachable. */
    report: (flag: string, settings: ShadowSettings): Promise<ShadowReport> =>
      whileReady(redis, unavailable, () => buildShadowReport(redis, counters, flag, settings)),
    /** The mismatch rate of the comparisons in [fromMs, toMs), for a rollout's maxMismatchRate. */
    async window(flag: string, settings: ShadowSettings, fromMs: number, toMs: number) {
      const report = await buildShadowReport(redis, counters, flag, settings, { window: { fromMs, toMs } });
      return { rate: report.mismatchRate ?? 0, samples: report.compared };
    },
    /** Before the cluster's Redis closes: the last samples are written. */
    async close(): Promise<void> {
      // Shadow copies still out are of no use to anyone: not waited for.
      await dispatcher.destroy();
      await recorder.close();
    },
  };
}

export type Shadowing = ReturnType<typeof createShadowing>;
