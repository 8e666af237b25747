import { z } from 'zod';

const PERCENT = 'must be an integer from 0 to 100';

/** A share of requests, 0 to 100: a flag's percent, its shadow percent, a policy seed. */
export const percent = z.number({ error: PERCENT }).int(PERCENT).min(0, PERCENT).max(100, PERCENT);

/** A percent as Redis holds it: the digits of an integer (`redis-cli HSET … percent 40`). */
export const storedPercent = z
  .string()
  .regex(/^\d{1,3}$/, PERCENT)
  .transform(Number)
  .pipe(percent);

/** The most user ids an allow or deny list may hold. */
export const MAX_LIST_IDS = 1_000;

const enabled = z.boolean({ error: 'must be true or false' });

/** An allow or deny list; repeated ids are kept once. */
export const userIds = z
  .array(
    z
      .string({ error: 'must be a user id (a string)' })
      .min(1, 'must be a non-empty user id')
      .max(128, 'must be a user id of at most 128 characters'),
    { error: 'must be an array of user ids' },
  )
  .max(MAX_LIST_IDS, `must hold at most ${MAX_LIST_IDS} user ids`)
  .transform((ids) => [...new Set(ids)]);

/** A user may be in allow or in deny, never both. */
export const noOverlap = (
  value: { allow?: string[] | undefined; deny?: string[] | undefined },
  ctx: z.RefinementCtx,
) => {
  if (!value.allow || !value.deny) return;
  const deny = new Set(value.deny);
  const both = value.allow.find((id) => deny.has(id));
  if (both !== undefined)
    ctx.addIssue({ code: 'custom', path: ['deny'], message: `user id "${both}" is also in allow` });
};

/**
 * A migration flag's value: `enabled` and `percent` (an enabled flag sends percent % of requests to the
 * new side, a disabled one 100 %), `allow` and `deny` (user ids always sent to the new side, or never).
 * As JSON (export, import, the snapshot file) the lists may be left out.
 */
export const flagValueSchema = z
  .strictObject({ enabled, percent, allow: userIds.default([]), deny: userIds.default([]) })
  .superRefine(noOverlap);
export type FlagValue = z.output<typeof flagValueSchema>;

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
export type FlagChange = z.output<typeof flagChangeSchema>;
