import { z } from 'zod';
import type { FlagState } from '../routing/decide.js';
import { SHADOW_OFF, type ShadowSettings } from '../shadow/settings.js';

/**
 * A migration flag's runtime value, stored in Redis as the hash `cinemaabyss:flag:<name>`: `enabled` and
 * `percent` as plain strings (so `redis-cli HSET ... percent 40` works), `allow` and `deny` as JSON arrays
 * of user ids (absent means empty).
 */
export interface FlagValue {
  enabled: boolean;
  percent: number;
  allow: string[];
  deny: string[];
}

/** Where the value in force came from: Redis, or before Redis was reached the snapshot file or the seed. */
export type FlagSource = 'redis' | 'snapshot' | 'seed';

/**
 * What requests are decided on: the value, with its lists as sets, and the flag's shadow settings (more
 * fields of the same hash, see shadow/settings.ts; not part of the value, so not in export, import or
 * the snapshot file).
 */
export interface LiveFlag extends FlagState {
  readonly value: FlagValue;
  readonly source: FlagSource;
  readonly shadow: ShadowSettings;
}

export const live = (
  value: FlagValue,
  source: FlagSource,
  shadow: ShadowSettings = SHADOW_OFF,
): LiveFlag => ({
  enabled: value.enabled,
  percent: value.percent,
  allow: new Set(value.allow),
  deny: new Set(value.deny),
  value,
  source,
  shadow,
});

/**
 * Semantics of the original system: an enabled flag sends `percent` % of traffic to the new
 * service; a disabled flag means the migration is finished, so everything goes to the new service.
 */
export function effectivePercent(flag: Pick<FlagValue, 'enabled' | 'percent'>): number {
  return flag.enabled ? flag.percent : 100;
}

export const MAX_LIST_IDS = 1_000;

const percent = z
  .number({ error: 'must be an integer from 0 to 100' })
  .int('must be an integer from 0 to 100')
  .min(0, 'must be an integer from 0 to 100')
  .max(100, 'must be an integer from 0 to 100');
const enabled = z.boolean({ error: 'must be true or false' });
const userIds = z
  .array(
    z
      .string({ error: 'must be a user id (a string)' })
      .min(1, 'must be a non-empty user id')
      .max(128, 'must be a user id of at most 128 characters'),
    { error: 'must be an array of user ids' },
  )
  .max(MAX_LIST_IDS, `must hold at most ${MAX_LIST_IDS} user ids`)
  .transform((ids) => [...new Set(ids)]);

const noOverlap = (
  value: { allow?: string[] | undefined; deny?: string[] | undefined },
  ctx: z.RefinementCtx,
) => {
  if (!value.allow || !value.deny) return;
  const deny = new Set(value.deny);
  const both = value.allow.find((id) => deny.has(id));
  if (both !== undefined)
    ctx.addIssue({ code: 'custom', path: ['deny'], message: `user id "${both}" is also in allow` });
};

/** Body of PUT /admin/flags/:name: any of the fields, the others kept; lists are replaced whole. */
export const flagChangeSchema = z
  .strictObject({
    enabled: enabled.optional(),
    percent: percent.optional(),
    allow: userIds.optional(),
    deny: userIds.optional(),
  })
  .superRefine(noOverlap)
  .refine((change) => Object.keys(change).length > 0, {
    error: 'give at least one of "enabled", "percent", "allow", "deny"',
  });

export type FlagChange = z.infer<typeof flagChangeSchema>;

/** A whole value as JSON (export/import, the snapshot file); lists may be left out. */
export const flagValueSchema = z
  .strictObject({ enabled, percent, allow: userIds.default([]), deny: userIds.default([]) })
  .superRefine(noOverlap);

/** The hash fields of a value, as the Lua scripts write them. */
export function toHash(value: FlagValue): Record<string, string> {
  return {
    enabled: String(value.enabled),
    percent: String(value.percent),
    allow: JSON.stringify(value.allow),
    deny: JSON.stringify(value.deny),
  };
}

/** The hash fields a change sets. */
export function changeToHash(change: FlagChange): Record<string, string> {
  const fields: Record<string, string> = {};
  if (change.enabled !== undefined) fields.enabled = String(change.enabled);
  if (change.percent !== undefined) fields.percent = String(change.percent);
  if (change.allow !== undefined) fields.allow = JSON.stringify(change.allow);
  if (change.deny !== undefined) fields.deny = JSON.stringify(change.deny);
  return fields;
}

const jsonIds = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of user ids' });
      return z.NEVER;
    }
  })
  .pipe(userIds);

const storedFlagSchema = z
  .object({
    enabled: z.enum(['true', 'false']).transform((v) => v === 'true'),
    percent: z
      .string()
      .regex(/^\d{1,3}$/, 'must be an integer from 0 to 100')
      .transform(Number)
      .pipe(percent),
    allow: jsonIds.default([]),
    deny: jsonIds.default([]),
  })
  .superRefine(noOverlap);

/**
 * Reads a flag hash written by the gateway or by hand with redis-cli. Returns undefined when the hash
 * does not exist, throws with a readable message when someone stored something unusable.
 */
export function parseStoredFlag(hash: Record<string, string>): FlagValue | undefined {
  if (Object.keys(hash).length === 0) return undefined;
  const result = storedFlagSchema.safeParse(hash);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  throw new Error(`stored flag is invalid (${problems.join('; ')}): ${JSON.stringify(hash)}`);
}
