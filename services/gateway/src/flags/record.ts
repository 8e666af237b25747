import {
  type FlagChange,
  type FlagSource,
  type FlagValue,
  ignorePaths,
  noOverlap,
  type ShadowSettings,
  storedPercent,
  userIds,
} from '@cinemaabyss/admin-contract';
import { z } from 'zod';
import type { FlagState } from '../routing/decide.js';

// The flag record: one Redis hash per flag, and what its fields mean. Everything that reads or writes the
// hash goes through this codec: the flag's value, and the shadow settings kept beside it.

const FLAG_PREFIX = 'cinemaabyss:flag:';
const HISTORY_PREFIX = 'cinemaabyss:flag-history:';
/** The fields of the shadow settings start with this; the other fields are the value's. */
const SHADOW_FIELD_PREFIX = 'shadow_';

/** Every flag's key starts with this: the prefix the gateway tracks for invalidations. */
export const FLAG_KEY_PREFIX = FLAG_PREFIX;
export const flagKey = (name: string) => `${FLAG_PREFIX}${name}`;
/** The flag of a key, or undefined for a key that is not a flag's. */
export const flagOfKey = (key: string) =>
  key.startsWith(FLAG_PREFIX) ? key.slice(FLAG_PREFIX.length) : undefined;
export const historyKey = (name: string) => `${HISTORY_PREFIX}${name}`;

/** A flag without shadow fields: shadowing off. */
export const SHADOW_OFF: ShadowSettings = Object.freeze({ percent: 0, ignore: [], since: null });

/**
 * A migration flag's runtime value (the admin contract's FlagValue), stored in Redis as the hash
 * `cinemaabyss:flag:<name>`: `enabled` and `percent` as plain strings (so `redis-cli HSET ... percent 40`
 * works), `allow` and `deny` as JSON arrays of user ids (absent means empty).
 */
export type { FlagChange, FlagSource, FlagValue, ShadowSettings };

/**
 * What requests are decided on: the value, with its lists as sets, and the flag's shadow settings (more
 * fields of the same hash; not part of the value, so not in export, import or the snapshot file).
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
 * The one place that says so: the routing decision and the admin API both ask here.
 */
export function effectivePercent(flag: Pick<FlagValue, 'enabled' | 'percent'>): number {
  return flag.enabled ? flag.percent : 100;
}

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

/** A field holding JSON, parsed before its schema applies; `expected` says what it must look like. */
const jsonField = (expected: string) =>
  z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
  });

const jsonIds = jsonField('must be a JSON array of user ids').pipe(userIds);

const storedFlagSchema = z
  .object({
    enabled: z.enum(['true', 'false']).transform((v) => v === 'true'),
    percent: storedPercent,
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

/** Fields of the flag's hash (`cinemaabyss:flag:<name>`) holding the settings; HSET them all at once. */
export function shadowFields(settings: ShadowSettings): Record<string, string> {
  const fields: Record<string, string> = {
    shadow_percent: String(settings.percent),
    shadow_ignore: JSON.stringify(settings.ignore),
  };
  if (settings.since !== null) fields.shadow_since = settings.since;
  return fields;
}

const storedShadowSchema = z.object({
  shadow_percent: storedPercent.optional(),
  shadow_ignore: jsonField('must be a JSON array like ["$.served_at"]').pipe(ignorePaths).optional(),
  shadow_since: z.iso.datetime({ error: 'must be an ISO time like 2026-01-31T12:00:00.000Z' }).optional(),
});

/**
 * Reads the shadow settings from a flag hash written by the admin API or by hand with redis-cli. A hash
 * without shadow fields means shadowing is off; an unusable value throws a message naming the field.
 */
export function parseShadowFields(hash: Record<string, string>): ShadowSettings {
  const result = storedShadowSchema.safeParse(hash);
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

/** True when the hash holds shadow fields (so its shadow settings are its own, not the default). */
export const hasShadowFields = (hash: Record<string, string>) =>
  Object.keys(hash).some((field) => field.startsWith(SHADOW_FIELD_PREFIX));

/** A hash's fields as HSET's arguments: field, value, field, value, ... */
export const fieldPairs = (hash: Record<string, string>) => Object.entries(hash).flat();

/** HGETALL's flat reply as a hash. */
export function pairsToHash(pairs: string[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) hash[pairs[i]!] = pairs[i + 1]!;
  return hash;
}
