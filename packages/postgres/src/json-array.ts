import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import pg from 'pg';

/**
 * A list query, read in batches by keyset: it selects an integer `id`, orders by it, and its last two
 * parameters are the id after which a batch starts (NULL for the first) and the batch's size, e.g.
 * `SELECT id, name FROM users WHERE $1::integer IS NULL OR id > $1 ORDER BY id LIMIT $2`.
 */
export interface JsonArrayQuery<R extends { id: number }> {
  text: string;
  /** The parameters before those two. */
  values?: unknown[];
  /** The row as the answer shows it; the row itself when left out. */
  toItem?: (row: R) => unknown;
}

export interface JsonArrayLimits {
  /**
   * An answer that ends within this many characters is sent whole, with a Content-Length (as before
   * streaming; the gateway also reads small answers whole). A longer one streams, and this is about what
   * it keeps buffered.
   */
  bufferChars: number;
  /** Rows of the first batch, which is all of most lists. */
  firstBatchRows: number;
  /**
   * Later batches ask for about this many characters of JSON, judged from the rows so far. Memory does not
   * depend on it (rows stream with backpressure), but `statement_timeout` bounds each batch, so one must
   * be short enough for a slow reader to take within it.
   */
  batchChars: number;
  maxBatchRows: number;
  /** A client that reads nothing for this long is cut off, so it cannot hold a pooled connection. */
  stallTimeoutMs: number;
}

export const defaultJsonArrayLimits: JsonArrayLimits = {
  bufferChars: 256 * 1024,
  firstBatchRows: 256,
  batchChars: 4 * 1024 * 1024,
  maxBatchRows: 1000,
  stallTimeoutMs: 30_000,
};

/** Where a list's connections come from: the first, already taken from the pool, and more if needed. */
interface Lease {
  client: pg.PoolClient;
  connect: () => Promise<pg.PoolClient>;
  /** A failure once the stream had begun (before, the returned promise rejects instead). */
  onStreamError?: (error: Error) => void;
}

/** node-postgres' socket to the server, paused while the reader is behind (not in its typings). */
type WithSocket = { connection: { stream: { pause(): void; resume(): void } } };

/** Rows become JSON (one JSON.stringify, as fast as the list's used to be) in pieces of about this size. */
const PIECE_CHARS = 16 * 1024;
const PIECE_ROWS = 256;

/**
 * Reads the rows of `query` a batch at a time, each batch a statement of its own that starts after the
 * last id sent, and returns its JSON array exactly as `JSON.stringify(rows.map(toItem))` would write it:
 * whole (a string) when it ends within `bufferChars`, else as a stream. Rows are turned into JSON as they
 * arrive, and while the reader is behind, the socket to PostgreSQL is paused, so the server waits and
 * memory stays at about `bufferChars` plus the socket buffers, whatever the list's size and however its
 * row sizes vary. `statement_timeout` bounds each batch, not the time a client takes to read the list, and
 * no transaction stays open between batches. A list of `firstBatchRows` or fewer is one statement, as
 * before. Batches by id see every row committed before the request and never show one twice; a row
 * committed while the list streams is shown if its id comes after those already sent.
 *
 * The client goes back to the pool after the last row, or when the reader goes away or stalls between
 * batches; during a batch, or after a failure, it is discarded (the rest of the batch would have to be
 * read). A failure before the answer is decided rejects; after, it destroys the stream, so the answer ends
 * without its closing bracket and the HTTP framing tells the client it was cut.
 */
export async function jsonArray<R extends { id: number }>(
  { client: first, connect, onStreamError }: Lease,
  query: JsonArrayQuery<R>,
  limits: JsonArrayLimits = defaultJsonArrayLimits,
): Promise<string | Readable> {
  const toItem = query.toItem;
  // A connection lost while leased is reported to the query in flight; without a listener the client's own
  // 'error' event would crash the process.
  const ignore = () => {};
  let client: pg.PoolClient | undefined;
  let socket = { pause() {}, resume() {} };
  const take = (taken: pg.PoolClient) => {
    client = taken;
    socket = (taken as unknown as WithSocket).connection.stream;
    taken.on('error', ignore);
  };
  /** Hands the current client back; `discard` closes its connection instead. */
  const letGo = (discard?: Error) => {
    if (!client) return;
    socket.resume();
    client.off('error', ignore);
    client.release(discard);
    client = undefined;
  };
  take(first);
  let current = 0;
  let batch = limits.firstBatchRows;
  let after: number | null = null;
  let rows = 0;
  let chars = 0;
  let piece: R[] = [];
  let pieceChars = 0;
  let head: string[] = [];
  let headChars = 0;
  let fetching = false;
  let finished = false;
  let streaming = false;
  let ended = false;
  let stalled: NodeJS.Timeout | undefined;
  let decide: (answer: string | Readable) => void = () => {};
  let refuse: (error: Error) => void = () => {};
  const decided = new Promise<string | Readable>((resolve, reject) => {
    decide = resolve;
    refuse = reject;
  });

  /** Ends the lease once. */
  const end = (discard?: Error) => {
    if (ended) return;
    ended = true;
    letGo(discard);
  };
  const fail = (error: Error) => {
    if (ended) return;
    if (streaming) return stream.destroy(error);
    end(error);
    refuse(error);
  };
  /** Sends text on; while the reader is behind, the server waits. */
  const push = (text: string) => {
    if (stream.push(text)) return;
    socket.pause();
    clearTimeout(stalled);
    stalled = setTimeout(() => stream.destroy(stallError(limits)), limits.stallTimeoutMs).unref();
  };
  /** The rows so far as JSON: kept while the answer may still be short, streamed once it is not. */
  const flush = () => {
    if (piece.length === 0) return;
    // One call for the piece: a call per row cost a fifth of a short list's time. A big row is a piece of
    // its own, written without the array's brackets to cut off.
    const only = piece.length === 1 ? (piece[0] as R) : undefined;
    const json = only
      ? JSON.stringify(toItem ? toItem(only) : only)
      : JSON.stringify(toItem ? piece.map(toItem) : piece).slice(1, -1);
    const text = (rows === 0 ? '[' : ',') + json;
    rows += piece.length;
    chars += text.length;
    piece = [];
    pieceChars = 0;
    if (streaming) return push(text);
    head.push(text);
    headChars += text.length;
    if (headChars < limits.bufferChars) return;
    startStream();
    for (const kept of head) push(kept);
    head = [];
  };
  const fetchBatch = () => {
    fetching = true;
    if (client) return runBatch(client);
    connect().then((taken) => {
      if (ended) return taken.release();
      take(taken);
      runBatch(taken);
    }, fail);
  };
  const runBatch = (on: pg.PoolClient) => {
    const id = ++current;
    const asked = batch;
    let got = 0;
    let estimate = 0;
    const statement = on.query(new pg.Query(query.text, [...(query.values ?? []), after, asked]));
    statement.on('row', (row: R) => {
      if (ended || id !== current) return;
      got++;
      after = row.id;
      piece.push(row);
      const size = approximateChars(row);
      pieceChars += size;
      estimate += size;
      if (pieceChars >= PIECE_CHARS || piece.length >= PIECE_ROWS) flush();
      if (estimate >= 2 * limits.batchChars && got < asked) {
        // The rows are far bigger than the batch was sized for (the first one is sized for ordinary rows;
        // twice, as the estimate is rough): a slow reader could not take the rest within statement_timeout.
        // The rest is read on a fresh connection in smaller batches, after the last row sent; this one is
        // closed, not read to its end.
        flush();
        current++;
        fetching = false;
        letGo(new Error('batch cut short: rows bigger than expected'));
        resize();
        if (!streaming || stream.readableLength < stream.readableHighWaterMark) fetchBatch();
      }
    });
    statement.on('error', (error: Error) => {
      if (id !== current) return;
      fetching = false;
      fail(error);
    });
    statement.on('end', () => {
      if (ended || id !== current) return;
      fetching = false;
      flush();
      if (got < asked) {
        // Fewer rows than asked for: that was the last of them.
        finished = true;
        end();
        if (!streaming) return decide(rows === 0 ? '[]' : `${head.join('')}]`);
        stream.push(']');
        stream.push(null);
        return;
      }
      resize();
      if (!streaming || stream.readableLength < stream.readableHighWaterMark) fetchBatch();
    });
  };
  const resize = () => {
    batch = Math.max(1, Math.min(limits.maxBatchRows, Math.floor(limits.batchChars / (chars / rows))));
  };

  let stream: Readable;
  const startStream = () => {
    stream = new Readable({
      highWaterMark: limits.bufferChars,
      read() {
        clearTimeout(stalled);
        socket.resume();
        if (!fetching && !finished && !ended) fetchBatch();
      },
      destroy(error, callback) {
        clearTimeout(stalled);
        if (error && !ended) onStreamError?.(error);
        end(error ?? (fetching ? new Error('the reader left during a batch') : undefined));
        callback(error);
      },
    });
    streaming = true;
    decide(stream);
  };
  fetchBatch();
  return decided;
}

/** About how many characters of JSON a row makes, without making them: its text and arrays of text. */
function approximateChars(row: Record<string, unknown>): number {
  let total = 0;
  for (const key in row) {
    const value = row[key];
    if (typeof value === 'string') total += value.length + 8;
    else if (Array.isArray(value))
      for (const item of value) total += typeof item === 'string' ? item.length + 3 : 8;
    else total += 24;
  }
  return total;
}

const stallError = ({ stallTimeoutMs }: JsonArrayLimits) =>
  new Error(`the client read nothing for ${stallTimeoutMs} ms: answer cut off`);

/**
 * Answers with a list query's rows as a JSON array (see `Database.jsonArray`): the one way every list is
 * sent, so each keeps the same bytes whatever its size, and no list is held whole in memory.
 */
export async function sendJsonArray<R extends { id: number }>(
  reply: FastifyReply,
  db: { jsonArray(query: JsonArrayQuery<R>): Promise<string | Readable> },
  query: JsonArrayQuery<R>,
): Promise<FastifyReply> {
  return reply.type('application/json; charset=utf-8').send(await db.jsonArray(query));
}
