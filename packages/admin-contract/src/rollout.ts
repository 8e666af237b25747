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
 * What a plan holds where the operator left a field out: those of the example. The console shows
 * them in its form. `maxMismatchRate` is off unless given (it needs shadow traffic on the flag);
 * `maxDataLagMs` is filled in only on a flag whose new side serves a data domain (the routing policy's
 * `data` field), whose rollout is gated on that domain's replication lag and parity.
 */
export const PLAN_DEFAULTS = {
  steps: [5, 25, 50, 100],
  intervalMs: 60_000,
  minRequests: 200,
  maxErrorRateIncrease: 0.01,
  maxLatencyRatio: 1.5,
  latencyFloorMs: 50,
  maxDataLagMs: 5_000,
} as const;

/** Body of POST /admin/flags/:name/rollout. Only `steps` is required. */
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
  intervalMs: integer(100).default(PLAN_DEFAULTS.intervalMs),
  /** Requests each side must see in a window before the rollout may move. */
  minRequests: integer(1).default(PLAN_DEFAULTS.minRequests),
  /** Largest tolerated new-minus-old error rate, as a fraction (0.01 = 1 percentage point). */
  maxErrorRateIncrease: fraction.default(PLAN_DEFAULTS.maxErrorRateIncrease),
  /** New p99 may be up to this multiple of the old p99... */
  maxLatencyRatio: z
    .number({ error: 'must be a number of at least 1' })
    .min(1, 'must be a number of at least 1')
    .default(PLAN_DEFAULTS.maxLatencyRatio),
  /** ...or up to this many milliseconds, whichever is larger (a 2 ms baseline does not make 4 ms bad). */
  latencyFloorMs: z
    .number({ error: 'must be a number of milliseconds' })
    .min(0, 'must not be negative')
    .default(PLAN_DEFAULTS.latencyFloorMs),
  /** Largest tolerated shadow mismatch rate; absent: mismatches are not judged. */
  maxMismatchRate: fraction.optional(),
  /**
   * Largest tolerated replication lag of the flag's data domain; a step holds above it. Only for a flag
   * with a data domain, where it defaults to PLAN_DEFAULTS.maxDataLagMs.
   */
  maxDataLagMs: integer(0).optional(),
});
/** A plan as the gateway holds it, defaults filled in; `RolloutPlanInput` is what a client may send. */
export type RolloutPlan = z.output<typeof rolloutPlanSchema>;
export type RolloutPlanInput = z.input<typeof rolloutPlanSchema>;

export const ROLLOUT_STATES = ['running', 'paused', 'succeeded', 'rolled-back', 'aborted'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const OUTCOMES = ['advance', 'hold', 'rollback'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** One side of a migrating route over one window, summed over every replica. */
export const sideWindowSchema = z.object({
  requests: z.number(),
  errors: z.number(),
  /** errors / requests; 0 without requests. */
  errorRate: z.number(),
  /** Upper bound of the histogram bucket holding the 99th percentile; 0 without requests. */
  p99Ms: z.number(),
});
export type SideWindow = z.output<typeof sideWindowSchema>;

export const windowStatsSchema = z.object({ old: sideWindowSchema, new: sideWindowSchema });
export type WindowStats = z.output<typeof windowStatsSchema>;

/** Shadow comparisons of a window: the share that differed, out of `samples`. */
export const mismatchSchema = z.object({ rate: z.number(), samples: z.number() });
export type Mismatch = z.output<typeof mismatchSchema>;

/** The data domain's status as a decision read it (the movies-sync process's status document, in part). */
export const dataNumbersSchema = z.object({
  domain: z.string(),
  /** Absent when the document was missing or unreadable. */
  writes: z.string().optional(),
  updatedAt: z.string().optional(),
  ageMs: z.number().optional(),
  lagMs: z.number().nullable().optional(),
  lagP99Ms: z.number().nullable().optional(),
  maxDataLagMs: z.number(),
  /** The current step began here: parity must have passed after it. */
  stepStartedAt: z.string(),
  parity: z
    .object({
      state: z.string(),
      checkedAt: z.string().nullable().optional(),
      mismatched: z.number().optional(),
      missing: z.number().optional(),
      extra: z.number().optional(),
      sampleIds: z.array(z.union([z.number(), z.string()])).optional(),
    })
    .optional(),
});
export type DataNumbers = z.output<typeof dataNumbersSchema>;

/** An entry of a rollout's decisions: the judge's outcomes, operator actions and gaps, newest first. */
export const decisionEntrySchema = z.object({
  at: z.string(),
  /** The step index the entry was made at, and the percent it left the flag at. */
  step: z.number(),
  percent: z.number(),
  outcome: z.enum([...OUTCOMES, 'start', 'pause', 'resume', 'promote', 'abort', 'gap']),
  reason: z.string(),
  numbers: windowStatsSchema
    .extend({
      mismatch: mismatchSchema.optional(),
      latencyLimitMs: z.number(),
      data: dataNumbersSchema.optional(),
    })
    .optional(),
  /** The operator, for operator actions. */
  by: z.string().optional(),
});
export type DecisionEntry = z.output<typeof decisionEntrySchema>;

/** GET /admin/flags/:name/rollout, and the answer to every action on it. */
export const rolloutViewSchema = z.object({
  flag: z.string(),
  state: z.enum(ROLLOUT_STATES),
  step: z.number(),
  percent: z.number(),
  plan: rolloutPlanSchema,
  startedAt: z.string(),
  /** The current analysis window starts here and is judged at nextDecisionAt (ms since the epoch). */
  windowStartMs: z.number(),
  nextDecisionAtMs: z.number(),
  nextDecisionAt: z.string(),
  decisions: z.array(decisionEntrySchema),
});
export type RolloutView = z.output<typeof rolloutViewSchema>;

/** GET /admin/flags/:name/traffic: each side per sample; the last sample is the one in progress. */
export const trafficSchema = z.object({
  name: z.string(),
  stepMs: z.number(),
  samples: z.array(windowStatsSchema.extend({ at: z.string(), seconds: z.number() })),
  recent: windowStatsSchema.extend({ seconds: z.number() }),
});
export type Traffic = z.output<typeof trafficSchema>;
