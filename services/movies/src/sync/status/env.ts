import { z } from 'zod';

const whole = (what: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
  const error = `must be a whole number of ${what} from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

/**
 * The environment of the data status and the parity checker, spread into the sync process's config schema
 * (`...parityEnv`), as `databaseEnv` is. Defaults fit the local stack; docs/data.md describes each.
 */
export const parityEnv = {
  /** The monolith's database, read with the capture role (SELECT on the movie tables only). */
  SOURCE_DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// connection URL' })
    .default('postgres://cinemaabyss_cdc:cinemaabyss_cdc@127.0.0.1:5432/cinemaabyss'),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// URL' })
    .default('redis://127.0.0.1:6379'),
  /** Kafka Connect's REST API, where the connector's state is read. */
  CONNECT_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s):// URL' })
    .default('http://127.0.0.1:8083'),
  /** Longest wait for Connect's answer; past it the connector's state is UNKNOWN. */
  CONNECT_TIMEOUT_MS: whole('milliseconds', 100, 10_000).default(1_000),
  /** Pause between the end of one scheduled full pass and the start of the next. */
  PARITY_INTERVAL_MS: whole('milliseconds', 1_000).default(60_000),
  /** Rows read per second from each database, at most; a pass over N movies takes at least N / this. */
  PARITY_ROWS_PER_SECOND: whole('rows per second', 1).default(20_000),
  /** Consecutive ids hashed as one chunk (so at most that many rows a side per statement). */
  PARITY_CHUNK_SIZE: whole('ids', 10, 100_000).default(1_000),
  /** A row that differs is read again this long after the replication lag has passed. */
  PARITY_RECHECK_MARGIN_MS: whole('milliseconds', 0).default(1_000),
  /** Longest wait before that re-check, whatever the lag (and when the lag is unknown). */
  PARITY_MAX_RECHECK_DELAY_MS: whole('milliseconds', 1).default(60_000),
  /** Ids of differing rows kept in a report (each count is complete). */
  PARITY_SAMPLE_SIZE: whole('ids', 1, 1_000).default(20),
  /** How often the status document is rebuilt and written to Redis (TTL 30 s). */
  DATA_STATUS_INTERVAL_MS: whole('milliseconds', 100, 2_000).default(1_000),
};

const parityConfig = z.object(parityEnv);
export type ParityConfig = z.infer<typeof parityConfig>;
