import type { Readable } from 'node:stream';
import { HttpError, type ServiceMetrics, StartupError } from '@cinemaabyss/service-kit';
import pg from 'pg';
import {
  defaultJsonArrayLimits,
  type JsonArrayLimits,
  type JsonArrayQuery,
  jsonArray,
} from './json-array.js';
import { databaseMetrics } from './metrics.js';

/** The few logger methods this module needs; Fastify's pino logger satisfies it. */
export interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface DatabaseOptions {
  /** Longest wait for a pooled connection before a request fails with 503. */
  connectTimeoutMs?: number;
  /** Server-side statement_timeout: a stuck query ends with 504 instead of hanging the request. */
  statementTimeoutMs?: number;
  max?: number;
  /** Registry for the pool gauges and the query error counter. */
  metrics?: ServiceMetrics;
  /** How lists are read and streamed (tests make them small). */
  jsonArrayLimits?: Partial<JsonArrayLimits>;
}

export interface RetryOptions {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Injected by tests to record the back-off instead of waiting it out. */
  sleep?: (ms: number) => Promise<void>;
}

/** Where a connection URL points, for log lines: never the password. */
export function describeTarget(url: string): string {
  const { hostname, port, pathname } = new URL(url);
  return `${hostname || 'localhost'}:${port || '5432'}${pathname}`;
}

/** Back-off before attempt `attempt + 1`: doubling from the initial delay, capped. */
export function retryDelay(attempt: number, { initialDelayMs, maxDelayMs }: RetryOptions): number {
  return Math.min(initialDelayMs * 2 ** (attempt - 1), maxDelayMs);
}

/**
 * Runs `probe` until it succeeds or the attempts are spent, logging one line per failed attempt with
 * the target, the attempt number and the next delay. The final failure is a StartupError whose message
 * tells the operator what to check.
 */
export async function retryUntilReachable(
  probe: () => Promise<unknown>,
  target: string,
  log: Log,
  options: RetryOptions,
): Promise<void> {
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      await probe();
      if (attempt > 1) log.info({ target, attempt }, `database ${target} reachable`);
      return;
    } catch (error) {
      const reason = errorSummary(error);
      if (attempt >= options.attempts) {
        throw new StartupError(
          `Cannot reach the database at ${target} after ${attempt} attempts (last error: ${reason}). ` +
            'Check that PostgreSQL is running and that DATABASE_URL points at it with valid credentials.',
        );
      }
      const delayMs = retryDelay(attempt, options);
      log.warn(
        { target, attempt, attempts: options.attempts, delayMs, reason },
        `database ${target} unreachable (attempt ${attempt}/${options.attempts}: ${reason}), retrying in ${delayMs} ms`,
      );
      await sleep(delayMs);
    }
  }
}

function errorSummary(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return errorSummary(error.errors[0]);
  const { code, message } = error as { code?: string; message?: string };
  return [code, message].filter(Boolean).join(' ') || String(error);
}

const connectionClasses = ['08', '53', '57P'];
const connectionMessages = /connection terminated|timeout exceeded when trying to connect|connection error/i;

/**
 * Maps a failure of the database itself (unreachable, restarting, out of connections, too slow) to an
 * explicit 503/504, so clients can tell "try again" from a bug. Errors about the data are left alone.
 */
export function unavailableError(error: unknown): HttpError | undefined {
  if (error instanceof pg.DatabaseError) {
    if (error.code === '57014') return new HttpError(504, 'database query timed out');
    if (connectionClasses.some((prefix) => error.code?.startsWith(prefix))) {
      return new HttpError(503, 'database unavailable');
    }
    return undefined;
  }
  // No answer from the server at all: refused, reset, DNS, the pool's connect timeout.
  const { code, message } = error as { code?: unknown; message?: unknown };
  const systemError = typeof code === 'string' && code.startsWith('E');
  if (error instanceof AggregateError || systemError || connectionMessages.test(String(message))) {
    return new HttpError(503, 'database unavailable');
  }
  return undefined;
}

/** Why a query failed, as `<service>_db_query_errors_total` counts it. */
export type QueryErrorCause = 'unavailable' | 'timeout' | 'rejected';

/**
 * The cause of a failure of PostgreSQL or of the way to it: unreachable (503), too slow (504), or an error
 * the server answered with (a violated key, bad input, a broken statement). Undefined for errors that are
 * not the database's, such as an HttpError thrown by the caller's own code inside a transaction.
 */
export function queryErrorCause(error: unknown): QueryErrorCause | undefined {
  const unavailable = unavailableError(error);
  if (unavailable) return unavailable.statusCode === 504 ? 'timeout' : 'unavailable';
  return error instanceof pg.DatabaseError ? 'rejected' : undefined;
}

/**
 * A safety net for input that validation let through but PostgreSQL refuses (a data exception, class 22,
 * or a CHECK constraint): the client sent it, so it is a 400 naming the problem, not a 500.
 */
export function invalidInputError(error: unknown): HttpError | undefined {
  if (!(error instanceof pg.DatabaseError)) return undefined;
  if (error.code?.startsWith('22') || error.code === '23514') {
    return new HttpError(400, `invalid input: ${error.message}`);
  }
  return undefined;
}

/** The constraint a unique violation (23505) broke, if that is what `error` is. */
export function uniqueViolation(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError && error.code === '23505' ? (error.constraint ?? '') : undefined;
}

/** The constraint a foreign key violation (23503) broke, if that is what `error` is. */
export function foreignKeyViolation(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError && error.code === '23503' ? (error.constraint ?? '') : undefined;
}

export interface Database {
  readonly pool: pg.Pool;
  readonly target: string;
  /**
   * One statement. Database outages become 503/504 HttpErrors and values PostgreSQL refuses 400s; key
   * violations stay pg errors for the caller to map.
   */
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /**
   * A list query's rows as one JSON array, read in batches by id: whole when short, else a stream that
   * reads as its reader goes (see `jsonArray`). Failures before the first character are mapped as for
   * `query`; later ones end the stream with the error.
   */
  jsonArray<R extends { id: number }>(query: JsonArrayQuery<R>): Promise<string | Readable>;
  /** Runs `work` in one transaction on one connection, with the same error mapping. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** True when a trivial query succeeds, for readiness probes. */
  isReachable(): Promise<boolean>;
  waitUntilReachable(log: Log, retry: RetryOptions): Promise<void>;
  close(): Promise<void>;
}

export function createDatabase(url: string, log: Log, options: DatabaseOptions = {}): Database {
  const { connectTimeoutMs = 3000, statementTimeoutMs = 10_000, max = 10, metrics } = options;
  const listLimits = { ...defaultJsonArrayLimits, ...options.jsonArrayLimits };
  const pool = new pg.Pool({
    connectionString: url,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    max,
  });
  const target = describeTarget(url);
  // An idle connection dropped by the server (restart, failover) must not crash the process: the pool
  // discards it and the next query opens a fresh one.
  pool.on('error', (error) => log.warn({ target, err: error }, 'idle database connection lost'));
  const countError = metrics ? databaseMetrics(metrics, pool) : () => {};
  const failed = (error: unknown) => {
    const cause = queryErrorCause(error);
    if (cause) countError(cause);
  };

  const mapped = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      failed(error);
      throw unavailableError(error) ?? invalidInputError(error) ?? error;
    }
  };

  return {
    pool,
    target,
    query: (text, values) => mapped(() => pool.query(text, values)),
    jsonArray: (query) =>
      mapped(async () => {
        const client = await pool.connect();
        // A failure after the first character cannot become a status code any more; it is counted here.
        return jsonArray({ client, connect: () => pool.connect(), onStreamError: failed }, query, listLimits);
      }),
    transaction: (work) => mapped(() => inTransaction(pool, work)),
    isReachable: () =>
      pool.query('SELECT 1').then(
        () => true,
        (error) => {
          failed(error);
          return false;
        },
      ),
    waitUntilReachable: (retryLog, retry) =>
      retryUntilReachable(() => pool.query('SELECT 1'), target, retryLog, retry),
    close: () => pool.end(),
  };
}

/**
 * Runs `work` between BEGIN and COMMIT on a connection of `pool` (ROLLBACK when it throws). While a client
 * is leased the pool does not listen for its 'error' event, and a connection that dies then (a restarted
 * server) would end the process unheard: it is heard here, the statement in flight fails with it anyway, and
 * the broken connection is discarded instead of going back to the pool.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost = error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      lost ??= rollbackError;
    });
    throw error;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}
