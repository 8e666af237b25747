import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import { type Applied, applyUnits } from './apply.js';
import { type Decoded, decode, MalformedMessage } from './changes.js';
import type { LagTracker } from './lag.js';
import type { SyncMetrics } from './metrics.js';
import { type Unit, UnitAssembler } from './units.js';

export interface StreamMessage {
  offset: bigint;
  value: Buffer | null;
}

export interface ProcessorOptions {
  pool: pg.Pool;
  lag: LagTracker;
  metrics: SyncMetrics;
  log: FastifyBaseLogger;
  snapshotBatch: number;
  /** Apply as given, or a test's stand-in. */
  apply?: (pool: pg.Pool, units: Unit[]) => Promise<Applied>;
}

/** Source transactions applied together at most, so one database transaction stays short. */
const MAX_GROUP_CHANGES = 5_000;

/**
 * Turns fetched messages into applied units. Never throws on bad input: a malformed message is logged,
 * counted and skipped; a unit PostgreSQL refuses for its data is logged, counted and skipped (retrying it
 * would loop forever). A database that cannot be reached is waited for, unit by unit, so that nothing
 * acknowledged upstream is lost and the consumer's offsets never pass an unapplied change.
 */
export class ChangeProcessor {
  private readonly assembler: UnitAssembler;
  private readonly apply: (pool: pg.Pool, units: Unit[]) => Promise<Applied>;

  constructor(private readonly options: ProcessorOptions) {
    this.assembler = new UnitAssembler(options.snapshotBatch);
    this.apply = options.apply ?? applyUnits;
  }

  /** Drops what is held in memory (an open transaction): reading starts again from the last commit. */
  reset(): void {
    this.assembler.reset();
  }

  /**
   * Processes one fetch in order and returns the offset the consumer may commit (every change before it is
   * in the movies database), if any. `keepAlive` is called between units (it heartbeats the group and
   * throws once the consumer is stopping).
   */
  async process(messages: StreamMessage[], keepAlive: () => Promise<void>): Promise<bigint | undefined> {
    const first = messages[0];
    const seen = this.assembler.lastOffset;
    if (first && seen !== undefined && first.offset <= seen) {
      // Delivered again from the committed offset (a restart of the consumer): start clean from there.
      this.options.log.info(
        { offset: first.offset.toString() },
        'stream delivered again from the committed offset',
      );
      this.assembler.reset();
    }
    const units: Unit[] = [];
    for (const message of messages) units.push(...this.assembler.push(message.offset, this.decode(message)));
    units.push(...this.assembler.flush());
    for (const group of groups(units)) await this.applyGroup(group, keepAlive);
    return this.assembler.committable();
  }

  /**
   * Consecutive source transactions of one fetch go in one database transaction (an applier behind the
   * stream catches up without a commit per source transaction); one a PostgreSQL refuses for its data is
   * then applied alone, so only it is skipped.
   */
  private async applyGroup(group: Unit[], keepAlive: () => Promise<void>): Promise<void> {
    if (await this.applyUntilDone(group, keepAlive)) return;
    for (const unit of group) await this.applyUntilDone([unit], keepAlive);
  }

  private decode(message: StreamMessage): Decoded | undefined {
    try {
      return decode(message.value);
    } catch (error) {
      if (!(error instanceof MalformedMessage)) throw error;
      this.options.metrics.skipped('malformed');
      this.options.log.warn(
        { offset: message.offset.toString(), reason: error.message },
        'malformed change message skipped',
      );
      return undefined;
    }
  }

  /** Applies `units` in one transaction, retrying while the database is away; false when refused for its data. */
  private async applyUntilDone(units: Unit[], keepAlive: () => Promise<void>): Promise<boolean> {
    const last = units.at(-1)!;
    for (let attempt = 1; ; attempt++) {
      try {
        const applied = await this.apply(this.options.pool, units);
        units.forEach((unit, i) => {
          const sourceTsMs = Math.max(unit.endTsMs ?? 0, ...unit.changes.map((change) => change.sourceTsMs));
          const lagMs = sourceTsMs > 0 ? this.options.lag.record(sourceTsMs) : 0;
          // The rows moved are the group's: counted once, with its last unit.
          this.options.metrics.applied(unit, i === units.length - 1 ? applied : NOTHING_MOVED, lagMs);
        });
        await keepAlive();
        return true;
      } catch (error) {
        if (refusedForItsData(error)) {
          if (units.length > 1) return false;
          this.options.metrics.skipped('rejected');
          this.options.log.error(
            { err: error, lastOffset: last.lastOffset.toString(), changes: last.changes.length },
            'the movies database refused a unit for its data; skipped (parity will report the rows)',
          );
          return true;
        }
        const delayMs = Math.min(100 * 2 ** (attempt - 1), 5_000);
        this.options.log.warn(
          { err: error, attempt, retryInMs: delayMs, lastOffset: last.lastOffset.toString() },
          'applying a unit failed; retrying',
        );
        await keepAlive();
        await sleep(delayMs);
      }
    }
  }
}

const NOTHING_MOVED: Applied = { rows: { movies: 0, genres: 0, movie_genres: 0 }, refreshed: 0 };

/** Units cut into groups applied together: runs of source transactions; a snapshot batch alone. */
function groups(units: Unit[]): Unit[][] {
  const result: Unit[][] = [];
  let current: Unit[] = [];
  let changes = 0;
  for (const unit of units) {
    const joins = unit.kind === 'transaction' && current[0]?.kind === 'transaction';
    if (!joins || changes + unit.changes.length > MAX_GROUP_CHANGES) {
      if (current.length > 0) result.push(current);
      current = [];
      changes = 0;
    }
    current.push(unit);
    changes += unit.changes.length;
  }
  if (current.length > 0) result.push(current);
  return result;
}

/** Data exceptions (22) and integrity violations (23): the same unit would fail the same way again. */
function refusedForItsData(error: unknown): boolean {
  return error instanceof pg.DatabaseError && /^2[23]/.test(error.code ?? '');
}
