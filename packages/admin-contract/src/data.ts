import { z } from 'zod';

/**
 * A data domain's name (`movies`): the movies-sync publishes its status at `cinemaabyss:data:<domain>`
 * (docs/data.md, The status document). Lower-case, so it is safe in a Redis key and a URL.
 */
export const dataDomain = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be 1 to 63 lower-case letters, digits and dashes, like "movies"');

/** `:domain` of the routes under /admin/data/:domain. */
export const dataParamsSchema = z.object({ domain: dataDomain });

/** Kafka Connect's state of the capture connector, its task folded in; UNKNOWN when Connect did not say. */
export const CONNECTOR_STATES = [
  'RUNNING',
  'PAUSED',
  'STOPPED',
  'FAILED',
  'UNASSIGNED',
  'RESTARTING',
  'UNKNOWN',
] as const;
export const PARITY_STATES = ['ok', 'mismatch', 'unknown'] as const;

const count = z.number().int().min(0).nullable();

/**
 * The status document of a data domain, as the sync process writes it to Redis and GET /admin/data/:domain
 * serves it: where the data is written and copied to, the capture's state, the replication lag and the last
 * parity pass. Database names only: no URL, no credential (a field not listed here is not served).
 */
export const dataStatusSchema = z.object({
  domain: z.string(),
  /** The service that owns the domain's writes (the other side's copy follows it): today the monolith. */
  writes: z.string().min(1),
  source: z.object({ database: z.string(), tables: z.array(z.string()) }),
  target: z.object({ database: z.string(), table: z.string() }),
  connector: z.object({ name: z.string(), state: z.enum(CONNECTOR_STATES) }),
  /** Commit in the source to applied in the target, now and its p99, in ms; null until measured. */
  lagMs: z.number().min(0).nullable(),
  lagP99Ms: z.number().min(0).nullable(),
  /** WAL the source's PostgreSQL keeps for the replication slot; null when the slot does not exist. */
  retainedWalBytes: z.number().min(0).nullable(),
  /** The last finished pass; `unknown`, with nulls, until one has finished. */
  parity: z.object({
    state: z.enum(PARITY_STATES),
    checkedAt: z.iso.datetime().nullable(),
    rows: count,
    mismatched: count,
    missing: count,
    extra: count,
    /** The lowest ids that differ (a sample; the counts are complete). */
    sampleIds: z.array(z.number().int()),
  }),
  /** When the sync process wrote this (it rewrites it every second or two; gone 30 s after it stops). */
  updatedAt: z.iso.datetime(),
});
export type DataStatus = z.output<typeof dataStatusSchema>;

/** POST /admin/data/:domain/verify (202): the request published, and how many sync processes heard it. */
export const verifyRequestSchema = z.object({
  domain: z.string(),
  requestedBy: z.string(),
  requestedAt: z.iso.datetime(),
  /** Subscribers that received it; 0 means no sync process is listening and no pass will start. */
  receivers: z.number().int().min(0),
});
export type VerifyRequest = z.output<typeof verifyRequestSchema>;
