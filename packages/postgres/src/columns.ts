import { z } from 'zod';

const INT4_MIN = -2_147_483_648;
const INT4_MAX = 2_147_483_647;

/** An id that fits a PostgreSQL `integer` column, as a JSON number. */
export const int4Id = z
  .number({ error: 'must be a positive integer' })
  .int({ error: 'must be a positive integer' })
  .min(1, { error: 'must be a positive integer' })
  .max(INT4_MAX, { error: `must be at most ${INT4_MAX}` });

// What PostgreSQL's integer input accepts, which is what the original system passed its query ids to:
// surrounding whitespace and a sign (`?id=+1` arrives as " 1").
const integerText = /^[ \t\n\r\v\f]*[+-]?\d+[ \t\n\r\v\f]*$/;

/**
 * An id given in a query string, read as the original read it: the first of repeated values counts, an
 * empty one means absent, and any integer PostgreSQL accepts is looked up (0 and negatives find nothing).
 */
export const queryId = z.preprocess(
  (value) => {
    const first = Array.isArray(value) ? value[0] : value;
    return first === '' ? undefined : first;
  },
  z
    .string({ error: 'must be an integer' })
    .regex(integerText, { error: 'must be an integer' })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(INT4_MIN, { error: `must be an integer from ${INT4_MIN} to ${INT4_MAX}` })
        .max(INT4_MAX, { error: `must be an integer from ${INT4_MIN} to ${INT4_MAX}` }),
    )
    .optional(),
);

/**
 * Text PostgreSQL will store, kept exactly as sent (no trimming): at most `maxLength` characters counted
 * as a `varchar(n)` counts them (code points, so an emoji is one), and without NUL characters, which
 * `text` columns reject with an error that would otherwise surface as a 500. Empty is refused unless
 * allowed: the original stored a missing field as "", so an empty value is that same garbage.
 */
export function pgText(maxLength = Number.POSITIVE_INFINITY, { allowEmpty = false } = {}) {
  return z
    .string({ error: 'must be a string' })
    .min(allowEmpty ? 0 : 1, { error: 'must not be empty' })
    .refine((value) => value.length <= maxLength || [...value].length <= maxLength, {
      error: `must be at most ${maxLength} characters`,
    })
    .refine((value) => !value.includes('\u0000'), { error: 'must not contain NUL characters' });
}
