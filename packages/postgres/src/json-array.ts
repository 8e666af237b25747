import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import pg from 'pg';

/** A list query: its rows, each turned into what the answer shows, become one JSON array. */
export interface JsonArrayQuery<R extends pg.QueryResultRow> {
  text: string;
  values?: unknown[];
  /** The row as the answer shows it; the row itself when left out. */
  toItem?: (row: R) => unknown;
}

export interface JsonArrayLimits {
  /**
   * An answer that ends within this many characters of JSON is sent whole, with a Content-Length (as
   * before streaming; the gateway also reads small answers whole). A longer one streams.
   */
  bufferChars: number;
  /** Rows of the first read: rows may be up to ~1 MiB each (the body limit), so few. */
  firstBatchRows: number;
  /** Later reads ask for about this many characters of JSON, judged from the rows so far. */
  batchChars: number;
  maxBatchRows: number;
  /** A client that reads nothing for this long is cut off, so it cannot hold a pooled connection. */
  stallTimeoutMs: number;
}

export const defaultJsonArrayLimits: JsonArrayLimits = {
  bufferChars: 256 * 1024,
  firstBatchRows: 8,
  batchChars: 512 * 1024,
  maxBatchRows: 1000,
  stallTimeoutMs: 30_000,
};

/** A pooled client to run the list on, handed back (or, after a failure, discarded) when it is over. */
interface Lease {
  client: pg.PoolClient;
  /** A failure once the stream had begun (before, the returned promise rejects instead). */
  onStreamError?: (error: Error) => void;
}

const CURSOR = 'json_array';

/**
 * Reads the rows of `query` through a server-side cursor (`DECLARE ... CURSOR` in a read-only transaction,
 * one `FETCH` per batch), and returns its JSON array text exactly as `JSON.stringify(rows.map(toItem))`
 * would write it. A short answer comes back as a string; a long one as a stream that fetches the next
 * batch only when its reader wants more, so memory stays at about one batch whatever the list's size.
 * Each FETCH is a statement of its own, so `statement_timeout` bounds each batch, not the time a client
 * takes to read the list. The client goes back to the pool after the last row (COMMIT), when the reader
 * goes away or stalls (ROLLBACK, which closes the cursor), and is discarded after a failure. A failure
 * before the first character rejects; after it, it destroys the stream, so the answer ends without its
 * closing bracket and the HTTP framing tells the client it was cut.
 */
export async function jsonArray<R extends pg.QueryResultRow>(
  { client, onStreamError }: Lease,
  query: JsonArrayQuery<R>,
  limits: JsonArrayLimits = defaultJsonArrayLimits,
): Promise<string | Readable> {
  const toItem = query.toItem ?? ((row: R) => row);
  // The first round trip opens the transaction, declares the cursor and fetches the first batch, as the
  // one query of a list did before; so the values are bound as literals (a simple query has no parameters).
  const open = `BEGIN READ ONLY; DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${bindLiterals(query.text, query.values)}`;
  // A connection lost while leased is reported to the query in flight; without a listener the client's own
  // 'error' event would crash the process.
  const ignore = () => {};
  client.on('error', ignore);
  let batch = limits.firstBatchRows;
  let rows = 0;
  let chars = 0;
  let finished = false;
  let ended: Promise<void> | undefined;

  const release = (error?: Error) => {
    client.off('error', ignore);
    client.release(error);
  };
  /** Ends the lease once: the transaction ends (or, after a failure, the connection is discarded). */
  const end = (failure?: Error): Promise<void> => {
    ended ??= failure
      ? Promise.resolve(release(failure))
      : client.query(finished ? 'COMMIT' : 'ROLLBACK').then(
          () => release(),
          (error: Error) => release(error),
        );
    return ended;
  };
  /** The JSON of the next batch ('' when there is none); ends the transaction after the last one. */
  const next = async (): Promise<string> => {
    const fetch = `FETCH ${batch} FROM ${CURSOR}`;
    const result = (await client.query<R>(rows === 0 ? `${open}; ${fetch}` : fetch)) as
      | pg.QueryResult<R>
      | pg.QueryResult<R>[];
    const read = (Array.isArray(result) ? (result.at(-1) as pg.QueryResult<R>) : result).rows;
    let text = '';
    for (const row of read) text += (rows++ === 0 ? '[' : ',') + JSON.stringify(toItem(row));
    chars += text.length;
    if (read.length < batch) {
      finished = true;
      void end();
    } else {
      batch = Math.max(1, Math.min(limits.maxBatchRows, Math.floor(limits.batchChars / (chars / rows))));
    }
    return text;
  };

  let head = '';
  try {
    while (!finished && head.length < limits.bufferChars) head += await next();
  } catch (error) {
    await end(error as Error);
    throw error;
  }
  if (finished) return rows === 0 ? '[]' : `${head}]`;

  let reading: Promise<string> | undefined;
  let stalled: NodeJS.Timeout | undefined;
  return new Readable({
    // One batch is held at a time: the stream asks for the next only once the last has been taken.
    highWaterMark: 1,
    read() {
      clearTimeout(stalled);
      const hand = (text: string) => {
        this.push(text);
        if (text === ']') this.push(null);
        else stalled = setTimeout(() => this.destroy(stallError(limits)), limits.stallTimeoutMs).unref();
      };
      if (head) {
        hand(head);
        head = '';
      } else if (finished) {
        hand(']');
      } else {
        reading = next();
        reading.then(
          (text) => {
            reading = undefined;
            hand(text || ']');
          },
          (error: Error) => this.destroy(error),
        );
      }
    },
    destroy(error, callback) {
      clearTimeout(stalled);
      // After the last row, or part way (the reader left or stalled, or a fetch failed): wait for a fetch in
      // flight, then end the lease.
      void Promise.resolve(reading)
        .then(
          () => end(),
          (failure: Error) => {
            onStreamError?.(failure);
            return end(failure);
          },
        )
        .finally(() => callback(error));
    },
  });
}

const stallError = ({ stallTimeoutMs }: JsonArrayLimits) =>
  new Error(`the client read nothing for ${stallTimeoutMs} ms: answer cut off`);

/**
 * `$1`, `$2`... of a list query (this code's own SQL, never a client's) replaced by the values as SQL
 * literals, each in parentheses so that a sign cannot join what precedes it.
 */
export function bindLiterals(text: string, values: readonly unknown[] = []): string {
  return text.replace(/\$(\d+)/g, (_placeholder, index: string) => {
    const position = Number(index) - 1;
    if (position >= values.length) throw new RangeError(`no value for $${index} in a list query`);
    return `(${literal(values[position])})`;
  });
}

function literal(value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return pg.escapeLiteral(value);
  throw new TypeError(`a list query takes null, finite numbers, booleans and strings, not ${String(value)}`);
}

/**
 * Answers with a list query's rows as a JSON array (see `Database.jsonArray`): the one way every list is
 * sent, so each keeps the same bytes whatever its size, and no list is held whole in memory.
 */
export async function sendJsonArray<R extends pg.QueryResultRow>(
  reply: FastifyReply,
  db: { jsonArray(query: JsonArrayQuery<R>): Promise<string | Readable> },
  query: JsonArrayQuery<R>,
): Promise<FastifyReply> {
  return reply.type('application/json; charset=utf-8').send(await db.jsonArray(query));
}
