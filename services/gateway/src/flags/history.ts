import type { HistoryEntry, RecordedFlag } from '@cinemaabyss/admin-contract';
import { hasShadowFields, parseShadowFields, parseStoredFlag } from './record.js';

/** Bounded audit trail per flag: a Redis list of JSON entries, newest first, written by the Lua scripts. */
export const HISTORY_LIMIT = 100;

export type { HistoryEntry, RecordedFlag };

/**
 * One entry of the list, or undefined for one nobody can read (pushed by hand with redis-cli, say): it is
 * left out rather than failing the whole history. Entries written before allow/deny existed hold only
 * enabled and percent: still readable.
 */
export function parseHistoryEntry(json: string): HistoryEntry | undefined {
  let raw: { at?: unknown; by?: unknown; old?: unknown; new?: unknown };
  try {
    raw = JSON.parse(json);
  } catch {
    return undefined;
  }
  const isHash = (value: unknown): value is Record<string, string> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  const now = isHash(raw?.new) ? recorded(raw.new) : undefined;
  if (typeof raw?.at !== 'string' || typeof raw.by !== 'string' || !now) return undefined;
  return { at: raw.at, by: raw.by, old: isHash(raw.old) ? (recorded(raw.old) ?? null) : null, new: now };
}

/** A hash from the history; shadow settings only where the hash has (usable) ones. */
function recorded(hash: Record<string, string>): RecordedFlag | undefined {
  const value = parseStoredFlag(hash);
  if (!value || !hasShadowFields(hash)) return value;
  try {
    return { ...value, shadow: parseShadowFields(hash) };
  } catch {
    return value;
  }
}
