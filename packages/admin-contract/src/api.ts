import { z } from 'zod';
import { dataParamsSchema, dataStatusSchema, verifyRequestSchema } from './data.js';
import { flagsDocumentSchema, flagViewSchema, historyEntrySchema, operatorSchema } from './flags.js';
import { rolloutPlanSchema, rolloutViewSchema, trafficSchema } from './rollout.js';
import { shadowChangeSchema, shadowReportSchema, shadowSettingsSchema } from './shadow.js';
import { flagChangeSchema } from './values.js';

/** `:name` of every route under /admin/flags/:name. */
export const flagParamsSchema = z.object({ name: z.string() });

const shadowChanged = shadowSettingsSchema.extend({ name: z.string(), change: historyEntrySchema });

/**
 * Every route of the admin API with what it takes and answers: the gateway declares these on its routes,
 * the console and the CLI read their answers' types from them (`Answer<'GET /admin/flags'>`). Every
 * route answers errors as `{"error": "..."}`: 400 bad input, 401 no or a wrong token, 403 a viewer's
 * write, 404 an unknown flag or a domain without a status, 409 a rollout conflict, 429 too many failed tokens, 503 Redis unreachable.
 */
export const ADMIN_API = {
  'GET /admin/me': { answer: operatorSchema },
  'GET /admin/flags': {
    answer: z.object({ redis: z.enum(['connected', 'disconnected']), flags: z.array(flagViewSchema) }),
  },
  'GET /admin/flags/export': { answer: flagsDocumentSchema },
  'PUT /admin/flags/import': {
    body: flagsDocumentSchema,
    answer: z.object({ changed: z.array(z.string()), flags: z.array(flagViewSchema) }),
  },
  'GET /admin/flags/:name': { params: flagParamsSchema, answer: flagViewSchema },
  'PUT /admin/flags/:name': {
    params: flagParamsSchema,
    body: flagChangeSchema,
    /** `rollout: "paused"` when a running rollout was paused for this change of the percent. */
    answer: flagViewSchema.extend({ change: historyEntrySchema, rollout: z.literal('paused').optional() }),
  },
  'GET /admin/flags/:name/history': {
    params: flagParamsSchema,
    answer: z.object({ name: z.string(), history: z.array(historyEntrySchema) }),
  },
  'GET /admin/flags/:name/shadow': {
    params: flagParamsSchema,
    answer: shadowReportSchema.extend({ name: z.string() }),
  },
  'PUT /admin/flags/:name/shadow': {
    params: flagParamsSchema,
    body: shadowChangeSchema,
    answer: shadowChanged,
  },
  'POST /admin/flags/:name/shadow/reset': { params: flagParamsSchema, answer: shadowChanged },
  'POST /admin/flags/:name/rollout': {
    params: flagParamsSchema,
    body: rolloutPlanSchema,
    answer: rolloutViewSchema,
  },
  'GET /admin/flags/:name/rollout': { params: flagParamsSchema, answer: rolloutViewSchema },
  'POST /admin/flags/:name/rollout/pause': { params: flagParamsSchema, answer: rolloutViewSchema },
  'POST /admin/flags/:name/rollout/resume': { params: flagParamsSchema, answer: rolloutViewSchema },
  'POST /admin/flags/:name/rollout/promote': { params: flagParamsSchema, answer: rolloutViewSchema },
  'POST /admin/flags/:name/rollout/abort': { params: flagParamsSchema, answer: rolloutViewSchema },
  'GET /admin/flags/:name/traffic': { params: flagParamsSchema, answer: trafficSchema },
  /** 404 while no status document of the domain is in Redis; 502 when the one there is malformed. */
  'GET /admin/data/:domain': { params: dataParamsSchema, answer: dataStatusSchema },
  /** Answered 202: a full parity pass is asked for; its result comes in the status document. */
  'POST /admin/data/:domain/verify': { params: dataParamsSchema, answer: verifyRequestSchema },
} as const satisfies Record<string, { params?: z.ZodType; body?: z.ZodType; answer: z.ZodType }>;

export type AdminRoute = keyof typeof ADMIN_API;
/** What a route answers (with 200, 201 for a started rollout, 202 for a verify request). */
export type Answer<R extends AdminRoute> = z.output<(typeof ADMIN_API)[R]['answer']>;
/** What a client may send as a route's body. */
export type Body<R extends AdminRoute> = (typeof ADMIN_API)[R] extends { body: z.ZodType }
  ? z.input<(typeof ADMIN_API)[R]['body']>
  : never;
