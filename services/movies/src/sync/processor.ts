import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import { type Applied, applyUnit } from './apply.js';
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
  apply?: (pool: pg.Pool, unit: Unit) => Promise<Applied>;
}

/**
 * Turns fetched messages into applied units. Never throws on bad input: a malformed message is logged,
 * counted and skipped; a unit PostgreSQL refuses for its data is logged, counted and skipped (retrying it
 * would loop forever). A database that cannot be reached is waited for, unit by unit, so that nothing
 * acknowledged upstream is lost and the consumer's offsets never pass an unapplied change.
 */
export class ChangeProcessor {
  private readonly assembler: UnitAssembler;
  private readonly apply: (pool: pg.Pool, unit: Unit) => Promise<Applied>;

  constructor(private readonly options: ProcessorOptions) {
    this.assembler = new UnitAssembler(options.snapshotBatch);
    this.apply = options.apply ?? applyUnit;
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
    for (const message of messages) {
      for (const unit of this.assembler.push(message.offset, this.decode(message))) {
        await this.applyUntilDone(unit, keepAlive);
      }
    }
    for (const unit of this.assembler.flush()) await this.applyUntilDone(unit, keepAlive);
    return this.assembler.committable();
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

  private async applyUntilDone(unit: Unit, keepAlive: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const applied = await this.apply(this.options.pool, unit);
        const sourceTsMs = Math.max(unit.endTsMs ?? 0, ...unit.changes.map((change) => change.sourceTsMs));
        const lagMs = sourceTsMs > 0 ? this.options.lag.record(sourceTsMs) : 0;
        this.options.metrics.applied(unit, applied, lagMs);
        await keepAlive();
        return;
      } catch (error) {
        if (refusedForItsData(error)) {
          this.options.metrics.skipped('rejected');
          this.options.log.error(
            { err: error, lastOffset: unit.lastOffset.toString(), changes: unit.changes.length },
            'the movies database refused a unit for its data; skipped (parity will report the rows)',
          );
          return;
        }
        const delayMs = Math.min(100 * 2 ** (attempt - 1), 5_000);
        this.options.log.warn(
          { err: error, attempt, retryInMs: delayMs, lastOffset: unit.lastOffset.toString() },
          'applying a unit failed; retrying',
        );
        await keepAlive();
        await sleep(delayMs);
      }
    }
  }
}

/** Data exceptions (22) and integrity violations (23): the same unit would fail the same way again. */
function refusedForItsData(error: unknown): boolean {
  return error instanceof pg.DatabaseError && /^2[23]/.test(error.code ?? '');
}
