import type { Change, Decoded, Marker } from './changes.js';

/**
 * What movies-sync applies as one transaction of the movies database: a source transaction (BEGIN..END),
 * so a movie and its genres are never seen half-applied; or a batch of snapshot reads.
 */
export interface Unit {
  kind: 'transaction' | 'snapshot';
  changes: Change[];
  /** The END marker's commit time, for a transaction that changed no movie table (lag still counts). */
  endTsMs: number | null;
  /** The transaction's commit position (its END), by which its changes are ordered; null for snapshots. */
  commitLsn: bigint | null;
  /** Offset of the unit's last message: once the unit is committed, the consumer may commit past it. */
  lastOffset: bigint;
}

/**
 * Cuts the totally ordered message stream into units. Messages arrive one by one, across fetches; a
 * transaction stays open (and uncommitted in Kafka) until its END. Pure: no I/O, so it is unit tested on
 * the connector's real message shapes.
 */
export class UnitAssembler {
  private open: { txId: string; changes: Change[]; firstOffset: bigint } | undefined;
  private snapshot: { changes: Change[]; lastOffset: bigint } | undefined;
  private lastSeen: bigint | undefined;

  constructor(private readonly snapshotBatch: number) {}

  /** Forgets what is open: the consumer will deliver again from its committed offset. */
  reset(): void {
    this.open = undefined;
    this.snapshot = undefined;
    this.lastSeen = undefined;
  }

  /** The offset of the last message pushed, to tell a redelivery (an offset not after it) from new input. */
  get lastOffset(): bigint | undefined {
    return this.lastSeen;
  }

  /**
   * Takes the next message (decoded, or undefined when it was malformed and skipped) and returns the units
   * it completes, in stream order.
   */
  push(offset: bigint, item: Decoded | undefined): Unit[] {
    this.lastSeen = offset;
    const done: Unit[] = [];
    if (item === undefined) return done;
    if (item.kind !== 'change') {
      done.push(...this.closeSnapshot());
      if (item.kind === 'end') return [...done, ...this.closeTransaction(offset, item)];
      // A BEGIN while another transaction is open means its END was lost: apply what arrived of it.
      done.push(...this.closeTransaction(offset - 1n, undefined));
      this.open = { txId: item.txId, changes: [], firstOffset: offset };
      return done;
    }
    if (item.snapshot && !this.open) {
      this.snapshot ??= { changes: [], lastOffset: offset };
      this.snapshot.changes.push(item);
      this.snapshot.lastOffset = offset;
      // The snapshot's end is applied at once: it is what makes the copy complete (see apply.ts).
      if (item.snapshotEnd || this.snapshot.changes.length >= this.snapshotBatch)
        done.push(...this.closeSnapshot());
      return done;
    }
    done.push(...this.closeSnapshot());
    if (this.open) {
      this.open.changes.push(item);
      return done;
    }
    // A change outside BEGIN..END (a replay that started inside a transaction, or a connector without
    // transaction metadata): its transaction is whatever follows until the END or the next BEGIN.
    this.open = { txId: item.txId ?? '', changes: [item], firstOffset: offset };
    return done;
  }

  /** At the end of a fetch: the snapshot reads gathered so far (a transaction waits for its END). */
  flush(): Unit[] {
    return this.closeSnapshot();
  }

  /**
   * The offset the consumer may commit once the units returned so far are applied: the start of the open
   * transaction, else just past the last message.
   */
  committable(): bigint | undefined {
    if (this.open) return this.open.firstOffset;
    if (this.snapshot) return undefined;
    return this.lastSeen === undefined ? undefined : this.lastSeen + 1n;
  }

  private closeSnapshot(): Unit[] {
    const snapshot = this.snapshot;
    if (!snapshot) return [];
    this.snapshot = undefined;
    const { changes, lastOffset } = snapshot;
    return [{ kind: 'snapshot', changes, endTsMs: null, commitLsn: null, lastOffset }];
  }

  private closeTransaction(lastOffset: bigint, end: Marker | undefined): Unit[] {
    const open = this.open;
    this.open = undefined;
    if (!open && !end) return [];
    const changes = open?.changes ?? [];
    const lastChange = changes.reduce<bigint | null>(
      (top, c) => (top === null || c.lsn > top ? c.lsn : top),
      null,
    );
    return [
      {
        kind: 'transaction',
        changes,
        endTsMs: end?.tsMs ?? null,
        commitLsn: end?.lsn ?? lastChange,
        lastOffset,
      },
    ];
  }
}
