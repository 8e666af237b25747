import { z } from 'zod';
import { toPattern } from './paths.js';

/** A flag's shadow settings, as every replica reads them from the flag's hash in Redis. */
export interface ShadowSettings {
  /** Share of eligible requests shadowed, 0 (off) to 100. */
  percent: number;
  /** Paths left out of the comparison, as the operator wrote them (`$.served_at`). */
  ignore: string[];
  /** Start of the current report (ISO time); null until shadowing was first set or reset. */
  since: string | null;
}

export const SHADOW_OFF: ShadowSettings = Object.freeze({ percent: 0, ignore: [], since: null });

/** Bounds on `ignore`: it is matched against every difference found. */
export const MAX_IGNORE_PATHS = 50;
export const MAX_PATH_LENGTH = 200;

const percent = z
  .number({ error: 'must be an integer from 0 to 100' })
  .int('must be an integer from 0 to 100')
  .min(0, 'must be an integer from 0 to 100')
  .max(100, 'must be an integer from 0 to 100');

const ignorePath = z
  .string({ error: 'must be a path like "$.served_at"' })
  .max(MAX_PATH_LENGTH, `must be at most ${MAX_PATH_LENGTH} characters`)
  .superRefine((path, ctx) => {
    const pattern = toPattern(path);
    if (typeof pattern !== 'string') ctx.addIssue({ code: 'custom', message: pattern.error });
  });

const ignore = z
  .array(ignorePath, { error: 'must be a list of paths like ["$.served_at"]' })
  .max(MAX_IGNORE_PATHS, `must list at most ${MAX_IGNORE_PATHS} paths`);

/**
 * Body of PUT /admin/flags/:name/shadow: `{"percent": 0-100, "ignore": ["$.served_at", ...]}`. Either
 * field may be left out (the stored one stays); anything else is refused by name.
 */
export const shadowChangeSchema = z
  .strictObject(
    { percent: percent.optional(), ignore: ignore.optional() },
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

export type ShadowChange = z.infer<typeof shadowChangeSchema>;

/** The settings after a change; the report's epoch starts with the first change and stays until a reset. */
export function applyShadowChange(current: ShadowSettings, change: ShadowChange, now: Date): ShadowSettings {
  return {
    percent: change.percent ?? current.percent,
    ignore: change.ignore ?? current.ignore,
    since: current.since ?? now.toISOString(),
  };
}

/** The settings after POST …/shadow/reset: the same, with a new report epoch. */
export const resetShadow = (current: ShadowSettings, now: Date): ShadowSettings => ({
  ...current,
  since: now.toISOString(),
});

/** Fields of the flag's hash (`cinemaabyss:flag:<name>`) holding the settings; HSET them all at once. */
export function shadowFields(settings: ShadowSettings): Record<string, string> {
  const fields: Record<string, string> = {
    shadow_percent: String(settings.percent),
    shadow_ignore: JSON.stringify(settings.ignore),
  };
  if (settings.since !== null) fields.shadow_since = settings.since;
  return fields;
}

const storedSchema = z.object({
  shadow_percent: z
    .string()
    .regex(/^\d{1,3}$/, 'must be an integer from 0 to 100')
    .transform(Number)
    .pipe(percent)
    .optional(),
  shadow_ignore: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON array like ["$.served_at"]' });
        return z.NEVER;
      }
    })
    .pipe(ignore)
    .optional(),
  shadow_since: z.iso.datetime({ error: 'must be an ISO time like 2026-01-31T12:00:00.000Z' }).optional(),
});

/**
 * Reads the shadow settings from a flag hash written by the admin API or by hand with redis-cli. A hash
 * without shadow fields means shadowing is off; an unusable value throws a message naming the field.
 */
export function parseShadowFields(hash: Record<string, string>): ShadowSettings {
  const result = storedSchema.safeParse(hash);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`stored shadow settings are invalid (${problems.join('; ')})`);
  }
  const { shadow_percent, shadow_ignore, shadow_since } = result.data;
  return {
    percent: shadow_percent ?? 0,
    ignore: shadow_ignore ?? [],
    since: shadow_since ?? null,
  };
}
