import { parseInput } from '@cinemaabyss/service-kit';
import { z } from 'zod';

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .number({ error: `must be an integer from ${min}` })
    .int(`must be an integer from ${min}`)
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);
const fraction = z
  .number({ error: 'must be a fraction from 0 to 1' })
  .min(0, 'must be a fraction from 0 to 1')
  .max(1, 'must be a fraction from 0 to 1');

/**
 * Body of POST /admin/flags/:name/rollout. Only `steps` is required; the defaults are those of the
 * issue's example. `maxMismatchRate` is off unless given (it needs shadow traffic on the flag).
 */
export const rolloutPlanSchema = z.strictObject({
  steps: z
    .array(integer(1, 100), { error: 'must be a list of percents, e.g. [5, 25, 50, 100]' })
    .min(1, 'must list at least one step')
    .refine(
      (steps) => steps.every((step, i) => i === 0 || step > steps[i - 1]!),
      'must be strictly increasing',
    )
    .refine((steps) => steps.at(-1) === 100, 'must end at 100'),
  /** Length of each step's analysis window. */
  intervalMs: integer(100).default(60_000),
  /** Requests each side must see in a window before the rollout may move. */
  minRequests: integer(1).default(200),
  /** Largest tolerated new-minus-old error rate, as a fraction (0.01 = 1 percentage point). */
  maxErrorRateIncrease: fraction.default(0.01),
  /** New p99 may be up to this multiple of the old p99... */
  maxLatencyRatio: z
    .number({ error: 'must be a number of at least 1' })
    .min(1, 'must be a number of at least 1')
    .default(1.5),
  /** ...or up to this many milliseconds, whichever is larger (a 2 ms baseline does not make 4 ms bad). */
  latencyFloorMs: z
    .number({ error: 'must be a number of milliseconds' })
    .min(0, 'must not be negative')
    .default(50),
  /** Largest tolerated shadow mismatch rate; absent: mismatches are not judged. */
  maxMismatchRate: fraction.optional(),
});

export type RolloutPlan = z.infer<typeof rolloutPlanSchema>;

/** Validates a start request's body; throws a 400 HttpError naming each bad field (`body.steps: ...`). */
export const parsePlan = (body: unknown): RolloutPlan => parseInput(rolloutPlanSchema, body, 'body');
