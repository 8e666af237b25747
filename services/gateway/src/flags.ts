import { z } from 'zod';

/** A migration flag as stored in Redis (hash `cinemaabyss:flag:<name>`). */
export interface FlagValue {
  enabled: boolean;
  percent: number;
}

/**
 * Semantics of the original system: an enabled flag sends `percent` % of traffic to the new
 * service; a disabled flag means the migration is finished, so everything goes to the new service.
 */
export function effectivePercent(flag: FlagValue): number {
  return flag.enabled ? flag.percent : 100;
}

const percent = z
  .number({ error: 'must be an integer from 0 to 100' })
  .int('must be an integer from 0 to 100')
  .min(0, 'must be an integer from 0 to 100')
  .max(100, 'must be an integer from 0 to 100');

/** Body of PUT /admin/flags/:name: either field may be left out, unknown fields are refused. */
export const flagChangeSchema = z
  .strictObject({
    enabled: z.boolean({ error: 'must be true or false' }).optional(),
    percent: percent.optional(),
  })
  .refine((change) => change.enabled !== undefined || change.percent !== undefined, {
    error: 'give "enabled", "percent" or both',
  });

export type FlagChange = z.infer<typeof flagChangeSchema>;

/** A flag value as JSON (the snapshot file). */
export const flagValueSchema = z.strictObject({
  enabled: z.boolean({ error: 'must be true or false' }),
  percent,
});

const storedFlagSchema = z.object({
  enabled: z.enum(['true', 'false']).transform((v) => v === 'true'),
  percent: z
    .string()
    .regex(/^\d{1,3}$/, 'must be an integer from 0 to 100')
    .transform(Number)
    .pipe(percent),
});

/**
 * Reads a flag hash written by the admin API or by hand with redis-cli. Returns undefined when the
 * hash does not exist, throws with a readable message when someone stored something unusable.
 */
export function parseStoredFlag(hash: Record<string, string>): FlagValue | undefined {
  if (Object.keys(hash).length === 0) return undefined;
  const result = storedFlagSchema.safeParse(hash);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  throw new Error(`stored flag is invalid (${problems.join('; ')}): ${JSON.stringify(hash)}`);
}
