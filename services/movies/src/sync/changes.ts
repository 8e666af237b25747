import { z } from 'zod';

// What one message of `cinemaabyss.movies.cdc` means, decoded and checked. Debezium's JSON converter writes
// values without a schema envelope (docs/data.md): transaction markers and row change events, in commit order.

/** Where a change stands in the monolith's history: compared as (commitLsn, changeLsn), the newer wins. */
export interface Version {
  commitLsn: bigint;
  changeLsn: bigint;
}

export interface Marker {
  kind: 'begin' | 'end';
  txId: string;
  tsMs: number;
  eventCount: number | null;
  /** The position in the id ("txId:lsn"): at the END, the transaction's commit position. */
  lsn: bigint | null;
}

export interface MovieRow {
  id: number;
  title: string;
  description: string;
  rating: number;
}
export interface GenreRow {
  id: number;
  name: string;
}
export interface LinkRow {
  movie_id: number;
  genre_id: number;
  position: number;
}

interface ChangeBase {
  kind: 'change';
  /** The source transaction ("txId:lsn" as in the markers); null for snapshot reads. */
  txId: string | null;
  /** When the source committed it (snapshot reads: when they were read). */
  sourceTsMs: number;
  /** The change's own WAL position (source.lsn); a snapshot read's is the snapshot's position. */
  lsn: bigint;
  /** The last read of an initial snapshot: the whole source has been read once. */
  snapshotEnd: boolean;
  snapshot: boolean;
}

/** An upsert (snapshot read, insert, update) carries the whole row; a delete only its key. */
export type Change = ChangeBase &
  (
    | { table: 'movies'; deleted: false; row: MovieRow }
    | { table: 'movies'; deleted: true; row: Pick<MovieRow, 'id'> }
    | { table: 'genres'; deleted: false; row: GenreRow }
    | { table: 'genres'; deleted: true; row: Pick<GenreRow, 'id'> }
    | { table: 'movie_genres'; deleted: false; row: LinkRow }
    | { table: 'movie_genres'; deleted: true; row: Omit<LinkRow, 'position'> }
    /** Heartbeats and any other captured table: nothing to apply, but they keep the lag measured. */
    | { table: 'other'; deleted: boolean; row: null }
  );

export type Decoded = Marker | Change;

/** A message that is not what the connector writes: counted, logged and skipped, never retried. */
export class MalformedMessage extends Error {
  override name = 'MalformedMessage';
}

const int4 = z.number().int().min(-2_147_483_648).max(2_147_483_647);
const lsnNumber = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]);

const markerSchema = z.object({
  status: z.enum(['BEGIN', 'END']),
  id: z.string().min(1),
  ts_ms: z.number(),
  event_count: z.number().int().nullish(),
});

const sourceSchema = z.object({
  table: z.string(),
  lsn: lsnNumber,
  ts_ms: z.number(),
  snapshot: z.union([z.string(), z.boolean()]).nullish(),
});

const eventSchema = z.object({
  op: z.enum(['r', 'c', 'u', 'd']),
  before: z.record(z.string(), z.unknown()).nullable(),
  after: z.record(z.string(), z.unknown()).nullable(),
  source: sourceSchema,
  transaction: z.object({ id: z.string() }).nullish(),
});

const rows = {
  movies: {
    upsert: z.object({ id: int4, title: z.string(), description: z.string(), rating: z.number() }),
    key: z.object({ id: int4 }),
  },
  genres: {
    upsert: z.object({ id: int4, name: z.string() }),
    key: z.object({ id: int4 }),
  },
  movie_genres: {
    upsert: z.object({ movie_id: int4, genre_id: int4, position: int4 }),
    key: z.object({ movie_id: int4, genre_id: int4 }),
  },
};

/** Decodes one message value; throws MalformedMessage naming what is wrong. */
export function decode(value: Buffer | string | null): Decoded {
  if (value === null) throw new MalformedMessage('empty message (a tombstone?)');
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (error) {
    throw new MalformedMessage(`not JSON: ${(error as Error).message}`);
  }
  if (json !== null && typeof json === 'object' && 'status' in json) {
    const marker = check(markerSchema, json, 'transaction marker');
    return {
      kind: marker.status === 'BEGIN' ? 'begin' : 'end',
      txId: marker.id,
      tsMs: marker.ts_ms,
      eventCount: marker.event_count ?? null,
      lsn: /^\d+:(\d+)$/.test(marker.id) ? BigInt(marker.id.split(':')[1] as string) : null,
    };
  }
  const event = check(eventSchema, json, 'change event');
  const snapshotFlag = String(event.source.snapshot ?? 'false');
  const base: ChangeBase = {
    kind: 'change',
    txId: event.transaction?.id ?? null,
    sourceTsMs: event.source.ts_ms,
    lsn: BigInt(event.source.lsn),
    snapshot: event.op === 'r',
    snapshotEnd: event.op === 'r' && snapshotFlag === 'last',
  };
  const deleted = event.op === 'd';
  const image = deleted ? event.before : event.after;
  const table = event.source.table;
  if (table !== 'movies' && table !== 'genres' && table !== 'movie_genres') {
    return { ...base, table: 'other', deleted, row: null };
  }
  if (image === null) throw new MalformedMessage(`${table} ${event.op} event without its row image`);
  const shape = deleted ? rows[table].key : rows[table].upsert;
  const row = check(shape, image, `${table} row`);
  return { ...base, table, deleted, row } as Change;
}

/**
 * The position that orders changes to one row: the commit position of its transaction, then the change's
 * own. A row's changes come in commit order, but a change's WAL position alone is not enough: a transaction
 * that began before another may commit after it, and one that began before the initial snapshot can commit
 * after it with changes positioned before the snapshot's. A snapshot read sits at the snapshot's position,
 * before every change of a transaction committed after it. `commitLsn` is the END marker's position; without
 * it (its END was lost) the transaction's last change stands in, which still orders each row's changes.
 */
export function versionOf(change: Change, commitLsn: bigint | null): Version {
  if (change.snapshot) return { commitLsn: change.lsn, changeLsn: 0n };
  return { commitLsn: commitLsn ?? change.lsn, changeLsn: change.lsn };
}

function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
  );
  throw new MalformedMessage(`${what}: ${problems.join('; ')}`);
}
