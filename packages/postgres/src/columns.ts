import { z } from 'zod';

const INT4_MAX = 2_147_483_647;

/** An id that fits a PostgreSQL `integer` column, as a JSON number. */
export const int4Id = z
  .number({ error: 'must be a positive integer' })
  .int({ error: 'must be a positive integer' })
  .min(1, { error: 'must be a positive integer' })
  .max(INT4_MAX, { error: `must be at most ${INT4_MAX}` });

/** The same id given in a query string (`?id=42`): digits only, so `1e3`, ` 7` or `0x10` are refused. */
export const queryId = z
  .string({ error: 'must be a positive integer' })
  .regex(/^\d+$/, { error: 'must be a positive integer' })
  .transform(Number)
  .pipe(int4Id);

/**
 * Text PostgreSQL will store: trimmed, non-empty, bounded, and without NUL characters (which `text`
 * columns reject with an error that would otherwise surface as a 500).
 */
export function pgText(maxLength: number, { allowEmpty = false } = {}) {
  return z
    .string({ error: 'must be a string' })
    .trim()
    .min(allowEmpty ? 0 : 1, { error: 'must not be empty' })
    .max(maxLength, { error: `must be at most ${maxLength} characters` })
    .refine((value) => !value.includes('\u0000'), { error: 'must not contain NUL characters' });
}
