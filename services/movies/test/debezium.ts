// Messages of `cinemaabyss.movies.cdc` as Debezium 3.6 writes them (JSON converter, no schema envelope),
// built for tests: the field layout follows the connector's real samples in fixtures/debezium/.

type Row = Record<string, unknown>;
type Table = 'movies' | 'genres' | 'movie_genres' | 'cdc_heartbeat';

export interface Position {
  /** source.lsn of the change. */
  lsn: number;
  /** The last commit before it (source.sequence[0]). */
  lastCommit: number | null;
  tsMs: number;
}

export function begin(txId: string, tsMs: number): string {
  return JSON.stringify({
    status: 'BEGIN',
    id: txId,
    event_count: null,
    data_collections: null,
    ts_ms: tsMs,
  });
}

export function end(txId: string, eventCount: number, tsMs: number): string {
  return JSON.stringify({
    status: 'END',
    id: txId,
    event_count: eventCount,
    data_collections: [],
    ts_ms: tsMs,
  });
}

function source(table: Table, at: Position, snapshot: string) {
  return {
    version: '3.6.1.Final',
    connector: 'postgresql',
    name: 'cinemaabyss',
    ts_ms: at.tsMs,
    snapshot,
    db: 'cinemaabyss',
    sequence: JSON.stringify([at.lastCommit === null ? null : String(at.lastCommit), String(at.lsn)]),
    schema: 'public',
    table,
    txId: 1000,
    lsn: at.lsn,
    xmin: null,
  };
}

/** A snapshot read; `snapshot` is Debezium's marker ("first", "true", "last", ...). */
export function read(table: Table, after: Row, at: Position, snapshot = 'true'): string {
  return JSON.stringify({
    before: null,
    after,
    source: source(table, at, snapshot),
    transaction: null,
    op: 'r',
    ts_ms: at.tsMs,
  });
}

/** An insert, update or delete inside the source transaction `txId`. */
export function change(
  op: 'c' | 'u' | 'd',
  table: Table,
  row: Row,
  at: Position,
  txId: string,
  order = 1,
): string {
  return JSON.stringify({
    before: op === 'd' ? row : null,
    after: op === 'd' ? null : row,
    source: source(table, at, 'false'),
    transaction: { id: txId, total_order: order, data_collection_order: order },
    op,
    ts_ms: at.tsMs,
  });
}

/**
 * Writes a stream the way the monolith's transactions would: each call to `tx` is one source transaction
 * (BEGIN, its changes, END), positioned after the previous one.
 */
export class StreamWriter {
  readonly messages: string[] = [];
  private lsn = 1_000;
  private lastCommit: number | null = null;
  private txNumber = 500;

  constructor(private readonly now: () => number = Date.now) {}

  /** An initial snapshot of `rows` (in the order given); the last read is marked "last". */
  snapshot(rows: [Table, Row][]): void {
    const at = { lsn: this.lsn, lastCommit: this.lastCommit, tsMs: this.now() };
    rows.forEach(([table, row], i) => {
      const marker = i === 0 ? 'first' : i === rows.length - 1 ? 'last' : 'true';
      this.messages.push(read(table, row, at, rows.length === 1 ? 'last' : marker));
    });
    this.lsn += 8;
  }

  tx(changes: ['c' | 'u' | 'd', Table, Row][]): void {
    // As the connector names them: BEGIN "txId:first change", END "txId:commit position".
    const number = this.txNumber++;
    const txId = `${number}:${this.lsn + 8}`;
    const tsMs = this.now();
    this.messages.push(begin(txId, tsMs));
    changes.forEach(([op, table, row], i) => {
      this.lsn += 8;
      this.messages.push(
        change(op, table, row, { lsn: this.lsn, lastCommit: this.lastCommit, tsMs }, txId, i + 1),
      );
    });
    this.lsn += 8;
    this.lastCommit = this.lsn;
    this.messages.push(end(`${number}:${this.lsn}`, changes.length, tsMs));
  }
}
