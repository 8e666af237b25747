import type { FastifyInstance } from 'fastify';
import type { Rollouts } from '../rollout/rollouts.js';
import { schemaOf, type ZodTypeProvider } from './schema.js';

/** The console's chart: the last 5 minutes in 10 s samples, and each side's health over the last minute. */
export const TRAFFIC = { stepMs: 10_000, steps: 30, recentSteps: 6 };

/**
 * GET /admin/flags/:name/traffic: each side's requests, errors and p99 per sample, summed over every
 * replica from the per-side counts the rollout judges (so the same numbers). The last sample is the one
 * in progress: its `seconds` say how much of it has passed, so a rate is requests / seconds.
 */
export async function trafficRoutes(app: FastifyInstance, { rollouts }: { rollouts: Rollouts }) {
  const admin = app.withTypeProvider<ZodTypeProvider>();
  admin.get(
    '/admin/flags/:name/traffic',
    { schema: schemaOf('GET /admin/flags/:name/traffic') },
    async (request) => {
      const { name } = request.params;
      const { stepMs, steps, recentSteps } = TRAFFIC;
      const now = Date.now();
      const fromMs = (Math.floor(now / stepMs) - steps + 1) * stepMs;
      const read = await rollouts.guard(() =>
        rollouts.stats.windows(name, { fromMs, stepMs, count: steps, recentSteps }),
      );
      const seconds = (at: number) => Math.min(stepMs, now - at) / 1000;
      return {
        name,
        stepMs,
        samples: read.steps.map((stats, i) => {
          const at = fromMs + i * stepMs;
          return { at: new Date(at).toISOString(), seconds: seconds(at), ...stats };
        }),
        recent: { seconds: (now - (fromMs + (steps - recentSteps) * stepMs)) / 1000, ...read.recent },
      };
    },
  );
}
