import { z } from 'zod';
import { shadowSettingsSchema } from './shadow.js';
import { flagValueSchema } from './values.js';

export const ROLES = ['operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** GET /admin/me: who the token belongs to. */
export const operatorSchema = z.object({ name: z.string(), role: z.enum(ROLES) });
export type Operator = z.output<typeof operatorSchema>;

/** Where the value in force came from: Redis, or before Redis was reached the snapshot file or the seed. */
export const FLAG_SOURCES = ['redis', 'snapshot', 'seed'] as const;
export type FlagSource = (typeof FLAG_SOURCES)[number];

/** A flag as the admin API shows it: its value, what it means, where it came from, the routes it moves. */
export const flagViewSchema = z.object({
  name: z.string(),
  ...flagValueSchema.shape,
  /** Percent of requests going to the new side: `percent`, or 100 when the flag is disabled. */
  effectivePercent: z.number(),
  source: z.enum(FLAG_SOURCES),
  routes: z.array(z.string()),
  /** The data domain the new side owns (the routing policy's `data`): GET /admin/data/<data>; null without. */
  data: z.string().nullable(),
});
export type FlagView = z.output<typeof flagViewSchema>;

/** A flag's hash as the history shows it: the value, and the shadow settings when it has them. */
export const recordedFlagSchema = flagValueSchema.safeExtend({ shadow: shadowSettingsSchema.optional() });
export type RecordedFlag = z.output<typeof recordedFlagSchema>;

export const historyEntrySchema = z.object({
  at: z.string(),
  by: z.string(),
  old: recordedFlagSchema.nullable(),
  new: recordedFlagSchema,
});
export type HistoryEntry = z.output<typeof historyEntrySchema>;

/** GET /admin/flags/export and the body of PUT /admin/flags/import: every flag's runtime value. */
export const flagsDocumentSchema = z.strictObject({
  flags: z.record(z.string(), flagValueSchema, { error: 'must map flag names to values' }),
});
export type FlagsDocument = z.output<typeof flagsDocumentSchema>;
