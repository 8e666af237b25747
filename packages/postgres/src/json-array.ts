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
   * An answer that ends within this many bytes is sent whole, with a Content-Length (as before streaming;
   * the gateway also reads small answers whole). A longer one streams, and this is what it keeps buffered.
   */
  bufferBytes: number;
  /** Rows of the first FETCH, which is all of most lists. */
  firstBatchRows: number;
  /**
   * Later FETCHes ask for about this many characters of JSON, judged from the rows so far. Memory does not
   * depend on it (rows stream with backpressure), but `statement_timeout` bounds each FETCH, so one must
   * be short enough for a slow reader to take within it.
   */
  batchChars: number;
  maxBatchRows: number;
  /** A client that reads nothing for this long is cut off, so it cannot hold a pooled connection. */
  stallTimeoutMs: number;
}

export const defaultJsonArrayLimits: JsonArrayLimits = {
  bufferBytes: 256 * 1024,
  firstBatchRows: 256,
  batchChars: 4 * 1024 * 1024,
  maxBatchRows: 1000,
  stallTimeoutMs: 30_000,
};

/** A pooled client to run the list on, handed back (or, after a failure, discarded) when it is over. */
interface Lease {
  client: pg.PoolClient;
  /** A failure once the stream had begun (before, the returned promise rejects instead). */
  onStreamError?: (error: Error) => void;
}

/** node-postgres' socket to the server, paused while the reader is behind (not in its typings). */
type WithSocket = { connection: { stream: { pause(): void; resume(): void } } };

const CURSOR = 'json_array';
/** Rows are pushed in pieces of about this many characters, not one by one. */
const PIECE_CHARS = 16 * 1024;

/**
 * Reads the rows of `query` through a server-side cursor (`DECLARE ... CURSOR` in a read-only transaction,
 * FETCH after FETCH) and returns its JSON array exactly as `JSON.stringify(rows.map(toItem))` would write
 * it: whole (a Buffer) when it ends within `bufferBytes`, else as a stream. Rows are turned into JSON as
 * they arrive, and while the reader is behind, the socket to PostgreSQL is paused, so the server waits and
 * memory stays at about `bufferBytes` plus the socket buffers, whatever the list's size and however its
 * row sizes vary. Each FETCH is a statement of its own, so `statement_timeout` bounds a batch, not the
 * time a client takes to read the whole list.
 *
 * The client goes back to the pool after the last row (COMMIT) or when the reader goes away or stalls
 * between FETCHes (ROLLBACK, which closes the cursor); during a FETCH, or after a failure, it is discarded.
 * A failure before the answer is decided rejects; after, it destroys the stream, so the answer ends
 * without its closing bracket and the HTTP framing tells the client it was cut.
 */
export async function jsonArray<R extends pg.QueryResultRow>(
  { client, onStreamError }: Lease,
  query: JsonArrayQuery<R>,
  limits: JsonArrayLimits = defaultJsonArrayLimits,
): Promise<Buffer | Readable> {
  const toItem = query.toItem ?? ((row: R) => row);
  const socket = (client as unknown as WithSocket).connection.stream;
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
  let piece = '';
  let fetching = false;
  let finished = false;
  let streaming = false;
  let ended: Promise<void> | undefined;
  let stalled: NodeJS.Timeout | undefined;
  let decide: (answer: Buffer | Readable) => void = () => {};
  let refuse: (error: Error) => void = () => {};
  const decided = new Promise<Buffer | Readable>((resolve, reject) => {
    decide = resolve;
    refuse = reject;
  });

  /** Ends the lease once: COMMIT or ROLLBACK and back to the pool, or (`discard`) the connection closed. */
  const end = (discard?: Error): Promise<void> => {
    // No more rows are wanted: the answers to COMMIT or ROLLBACK must get through.
    socket.resume();
    const release = (error?: Error) => {
      client.off('error', ignore);
      client.release(error);
    };
    ended ??= discard
      ? Promise.resolve(release(discard))
      : client.query(finished ? 'COMMIT' : 'ROLLBACK').then(
          () => release(),
          (error: Error) => release(error),
        );
    return ended;
  };
  const fail = (error: Error) => {
    if (ended) return;
    if (streaming) stream.destroy(error);
    else void end(error).then(() => refuse(error));
  };
  /** Hands the rows so far to the stream; once it is full, the answer streams and the server waits. */
  const flush = () => {
    if (!piece) return;
    const more = stream.push(piece);
    piece = '';
    if (more) return;
    socket.pause();
    clearTimeout(stalled);
    stalled = setTimeout(() => stream.destroy(stallError(limits)), limits.stallTimeoutMs).unref();
    if (!streaming) {
      streaming = true;
      decide(stream);
    }
  };
  const fetchBatch = () => {
    fetching = true;
    const asked = batch;
    let got = 0;
    const fetch = `FETCH ${asked} FROM ${CURSOR}`;
    const statement = client.query(new pg.Query(rows === 0 ? `${open}; ${fetch}` : fetch));
    statement.on('row', (row: R) => {
      if (ended) return;
      got++;
      const text = (rows++ === 0 ? '[' : ',') + JSON.stringify(toItem(row));
      chars += text.length;
      piece += text;
      if (piece.length >= PIECE_CHARS) flush();
    });
    statement.on('error', (error: Error) => {
      fetching = false;
      fail(error);
    });
    statement.on('end', () => {
      fetching = false;
      if (ended) return;
      if (got < asked) {
        // Fewer rows than asked for: that was the last of them.
        finished = true;
        piece += rows === 0 ? '[]' : ']';
        flush();
        stream.push(null);
        void end();
        if (!streaming) decide(stream.read() ?? Buffer.alloc(0));
        return;
      }
      flush();
      batch = Math.max(1, Math.min(limits.maxBatchRows, Math.floor(limits.batchChars / (chars / rows))));
      if (stream.readableLength < stream.readableHighWaterMark) fetchBatch();
    });
  };

  const stream: Readable = new Readable({
    highWaterMark: limits.bufferBytes,
    read() {
      clearTimeout(stalled);
      socket.resume();
      if (!fetching && !finished && !ended) fetchBatch();
    },
    destroy(error, callback) {
      clearTimeout(stalled);
      // Between FETCHes the transaction ends and the connection is reused; during one, the rows still on
      // their way would have to be read first, so the connection is closed instead.
      const failure = error ?? (fetching ? new Error('the reader left during a FETCH') : undefined);
      if (error && !ended) onStreamError?.(error);
      void end(failure).finally(() => callback(error));
    },
  });
  fetchBatch();
  return decided;
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
  db: { jsonArray(query: JsonArrayQuery<R>): Promise<Buffer | Readable> },
  query: JsonArrayQuery<R>,
): Promise<FastifyReply> {
  return reply.type('application/json; charset=utf-8').send(await db.jsonArray(query));
}
