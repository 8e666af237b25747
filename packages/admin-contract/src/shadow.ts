import { z } from 'zod';
import { toPattern } from './paths.js';
import { percent } from './values.js';

/** Bounds on `ignore`: it is matched against every difference found. */
export const MAX_IGNORE_PATHS = 50;
export const MAX_PATH_LENGTH = 200;

const ignorePath = z
  .string({ error: 'must be a path like "$.served_at"' })
  .max(MAX_PATH_LENGTH, `must be at most ${MAX_PATH_LENGTH} characters`)
  .superRefine((path, ctx) => {
    const pattern = toPattern(path);
    if (typeof pattern !== 'string') ctx.addIssue({ code: 'custom', message: pattern.error });
  });

/** Paths left out of the comparison, as the operator wrote them (`$.served_at`). */
export const ignorePaths = z
  .array(ignorePath, { error: 'must be a list of paths like ["$.served_at"]' })
  .max(MAX_IGNORE_PATHS, `must list at most ${MAX_IGNORE_PATHS} paths`);

/** A flag's shadow settings, as every replica reads them from the flag's hash in Redis. */
export const shadowSettingsSchema = z.object({
  /** Share of eligible requests shadowed, 0 (off) to 100. */
  percent,
  ignore: ignorePaths,
  /** Start of the current report (ISO time); null until shadowing was first set or reset. */
  since: z.iso.datetime().nullable(),
});
export type ShadowSettings = z.output<typeof shadowSettingsSchema>;

/**
 * Body of PUT /admin/flags/:name/shadow: `{"percent": 0-100, "ignore": ["$.served_at", ...]}`. Either
 * field may be left out (the stored one stays); anything else is refused by name.
 */
export const shadowChangeSchema = z
  .strictObject(
    { percent: percent.optional(), ignore: ignorePaths.optional() },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `unknown field ${issue.keys.map((key) => `"${key}"`).join(', ')}; the body takes "percent" and "ignore"`
          : undefined,
    },
  )
  .refine((change) => change.percent !== undefined || change.ignore !== undefined, {
    error: 'give "percent", "ignore" or both',
  });
export type ShadowChange = z.output<typeof shadowChangeSchema>;

export const SHADOW_RESULTS = ['match', 'mismatch', 'error', 'dropped', 'skipped'] as const;

/** A mismatch kept as an example: the request, and the differences that count first. */
export const sampleSchema = z.object({
  at: z.string(),
  method: z.string(),
  /** Path and query. */
  url: z.string(),
  userId: z.string().nullable(),
  /** Which side answered the client. */
  chosen: z.enum(['old', 'new']),
  status: z.object({ old: z.number(), new: z.number() }),
  differences: z.array(z.object({ path: z.string(), old: z.string(), new: z.string() })),
});
export type Sample = z.output<typeof sampleSchema>;

export const pathReportSchema = z.object({
  /** A pattern: every array index written `[*]` (docs/gateway.md, Shadow traffic). */
  path: z.string(),
  /** Comparisons in which it differed and counted as a mismatch. */
  mismatches: z.number(),
  /** Comparisons in which it differed, counted or not. */
  differed: z.number(),
  /** Noise probes in which it differed between two answers of the same side. */
  noise: z.number(),
  /** Why its differences do not count, if they do not. */
  excluded: z.enum(['ignore', 'noise']).nullable(),
});
export type PathReport = z.output<typeof pathReportSchema>;

/** The comparison's report, summed over every replica since `since` (docs/gateway.md, Shadow traffic). */
export const shadowReportSchema = z.object({
  ...shadowSettingsSchema.shape,
  /** Start of the counted time: `since`, or the oldest window still kept when that is later. */
  from: z.string(),
  compared: z.number(),
  matched: z.number(),
  mismatched: z.number(),
  /** mismatched / compared, 0 to 1; null before anything was compared. */
  mismatchRate: z.number().nullable(),
  errors: z.number(),
  dropped: z.number(),
  skipped: z.number(),
  probes: z.number(),
  paths: z.array(pathReportSchema),
  samples: z.array(sampleSchema),
});
export type ShadowReport = z.output<typeof shadowReportSchema>;
