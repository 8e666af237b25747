import type { Log } from '@cinemaabyss/postgres';
import { type AggregateSource, chunkHash, firstId, rowDigests } from './aggregates.js';
import { type Clock, RowBudget, systemClock } from './row-budget.js';

/** How a row differs: in both with other values, only in the source, only in the target. */
export type Difference = 'mismatched' | 'missing' | 'extra';
const DIFFERENCES: readonly Difference[] = ['mismatched', 'missing', 'extra'];
/** While the lag is unknown, how often a pending re-check asks for it again. */
const UNKNOWN_LAG_POLL_MS = 1_000;

/** What one full pass found. Counts are complete; id lists are bounded samples, lowest ids first. */
export interface ParityReport {
  state: 'ok' | 'mismatch';
  /** What started the pass: `start`, `schedule`, `verify` (an operator), ... */
  reason: string;
  startedAt: string;
  checkedAt: string;
  durationMs: number;
  /** Distinct ids compared (held by either side). */
  rows: number;
  mismatched: number;
  missing: number;
  extra: number;
  /** At most `sampleSize` ids of every kind together. */
  sampleIds: number[];
  samples: Record<Difference, number[]>;
  /** Rows that differed at first and were equal when re-checked after the lag window (changes in flight). */
  settled: number;
  /** Rows read from each database, chunk hashes, drill-downs and re-checks together. */
  rowsRead: { source: number; target: number };
}

export interface ParityOptions {
  source: AggregateSource;
  target: AggregateSource;
  /** Ids per chunk: a chunk spans `chunkSize` consecutive ids, so it holds at most that many rows a side. */
  chunkSize: number;
  /** Rows read per second from each database, at most (a burst of one chunk aside). */
  rowsPerSecond: number;
  /** Pause between the end of one pass and the start of the next scheduled one. */
  intervalMs: number;
  /** The replication lag now, in ms (null while unknown): how long an in-flight change may take. */
  lagMs: () => number | null;
  /** Added to the lag before a re-check; with an unknown lag the re-check waits maxRecheckDelayMs. */
  recheckMarginMs: number;
  maxRecheckDelayMs: number;
  /** Re-checks of a row whose source keeps changing before it is reported anyway. */
  maxRechecks?: number;
  /**
   * Rows held for re-checking (about 100 bytes each): a bulk change in the monolith puts every row it touched
   * in flight at once. Beyond that many, a difference is reported without a re-check.
   */
  maxSuspects?: number;
  sampleSize: number;
  log: Log;
  clock?: Clock;
  /** Called with each finished pass (metrics, the published status). */
  onReport?: (report: ParityReport) => void;
  /** Called when a pass fails (a database unreachable, a statement timeout). */
  onFailure?: (error: unknown) => void;
}

/** A row that differed: looked at again after the lag window before it counts. */
interface Suspect {
  /** The source's digest when last looked at (undefined: not in the source). */
  sourceDigest: string | undefined;
  seenAt: number;
  looks: number;
}

class StoppedError extends Error {
  override name = 'StoppedError';
}

/**
 * Proves the movies database equal to the monolith's, the way pt-table-checksum and Ghostferry's verifiers
 * do: the id space is walked in chunks, each side hashes a chunk in SQL, and only a chunk whose hashes
 * differ is read row by row (id and digest). A row that differs is not reported at once: it may be a change
 * the applier has not applied yet, so it is read again once the replication lag has passed, and counts only
 * if it still differs while the source stood still. Reads are paced by a row budget on both databases.
 *
 * Passes run on a schedule and on demand, one at a time: a request during a pass gets the next one (which
 * starts after the running one, so it sees every change made before the request).
 */
export class ParityChecker {
  private last: ParityReport | undefined;
  private running: Promise<ParityReport> | undefined;
  private queued: Promise<ParityReport> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly aborter = new AbortController();
  private readonly clock: Clock;
  private readonly maxRechecks: number;
  private readonly maxSuspects: number;

  constructor(private readonly options: ParityOptions) {
    this.clock = options.clock ?? systemClock;
    this.maxRechecks = options.maxRechecks ?? 3;
    this.maxSuspects = options.maxSuspects ?? 100_000;
  }

  /** The last finished pass; undefined until one has finished. */
  get lastReport(): ParityReport | undefined {
    return this.last;
  }

  get passRunning(): boolean {
    return this.running !== undefined;
  }

  /** Starts the first pass now; each pass schedules the next one intervalMs after it ends. */
  start(): void {
    void this.requestPass('start').catch(() => {});
  }

  /**
   * A full pass: now when none is running, else right after the running one. Requests made during one pass
   * share the next.
   */
  requestPass(reason: string): Promise<ParityReport> {
    if (this.aborter.signal.aborted) return Promise.reject(new StoppedError('parity checker stopped'));
    if (!this.running) return this.launch(reason);
    this.queued ??= this.running
      .catch(() => {})
      .then(() => {
        this.queued = undefined;
        return this.launch(reason);
      });
    return this.queued;
  }

  /** Ends the running pass at its next read and cancels the schedule. */
  async stop(): Promise<void> {
    this.aborter.abort();
    clearTimeout(this.timer);
    await this.running?.catch(() => {});
    await this.queued?.catch(() => {});
  }

  private launch(reason: string): Promise<ParityReport> {
    if (this.aborter.signal.aborted) return Promise.reject(new StoppedError('parity checker stopped'));
    clearTimeout(this.timer);
    const { log, onReport, onFailure } = this.options;
    const pass = this.pass(reason).then(
      (report) => {
        this.last = report;
        const { samples, rowsRead, ...summary } = report;
        if (report.state === 'ok') log.info(summary, 'parity pass: the movies database equals the monolith');
        else log.warn({ ...summary, samples }, 'parity pass: the movies database differs from the monolith');
        onReport?.(report);
        return report;
      },
      (error: unknown) => {
        if (!(error instanceof StoppedError) && !this.aborter.signal.aborted) {
          log.warn({ err: error, reason }, 'parity pass failed; the last report stands');
          onFailure?.(error);
        }
        throw error;
      },
    );
    this.running = pass.finally(() => {
      this.running = undefined;
      if (!this.aborter.signal.aborted && !this.queued) {
        this.timer = setTimeout(
          () => void this.requestPass('schedule').catch(() => {}),
          this.options.intervalMs,
        );
        this.timer.unref();
      }
    });
    return this.running;
  }

  private async pass(reason: string): Promise<ParityReport> {
    const { source, target, chunkSize, rowsPerSecond, sampleSize } = this.options;
    const signal = this.aborter.signal;
    const startedAt = this.clock.now();
    const budget = new RowBudget(rowsPerSecond, chunkSize, this.clock);
    const rowsRead = { source: 0, target: 0 };
    const found = new Findings(sampleSize);
    const suspects = new Map<number, Suspect>();
    let rows = 0;

    const suspect = (id: number, sourceDigest: string | undefined, targetDigest: string | undefined) => {
      if (suspects.size < this.maxSuspects)
        suspects.set(id, { sourceDigest, seenAt: this.clock.now(), looks: 0 });
      else found.add(difference(sourceDigest, targetDigest), id);
    };

    let lo = lowest(...(await Promise.all([firstId(source), firstId(target)])));
    while (lo !== null) {
      if (signal.aborted) throw new StoppedError('parity checker stopped');
      const chunk = { lo: lo - 1, hi: lo - 1 + chunkSize };
      // A chunk spans chunkSize ids, so no side can return more rows than that.
      await budget.ready(chunkSize, signal);
      const [s, t] = await Promise.all([
        chunkHash(source, chunk.lo, chunk.hi),
        chunkHash(target, chunk.lo, chunk.hi),
      ]);
      rowsRead.source += s.rows;
      rowsRead.target += t.rows;
      budget.spend(Math.max(s.rows, t.rows));
      if (s.rows === t.rows && s.hash === t.hash) rows += s.rows;
      else {
        // Drill down: every row of the chunk, id and digest, from both sides.
        await budget.ready(chunkSize, signal);
        const [sd, td] = await Promise.all([rowDigests(source, chunk), rowDigests(target, chunk)]);
        rowsRead.source += sd.size;
        rowsRead.target += td.size;
        budget.spend(Math.max(sd.size, td.size));
        const ids = new Set([...sd.keys(), ...td.keys()]);
        rows += ids.size;
        for (const id of [...ids].sort((a, b) => a - b))
          if (sd.get(id) !== td.get(id)) suspect(id, sd.get(id), td.get(id));
      }
      lo = lowest(s.nextId, t.nextId);
    }

    // Re-check the rows that differed, once the changes in flight when they were read have had time to land.
    while (suspects.size > 0) {
      let lastSeen = 0;
      for (const { seenAt } of suspects.values()) lastSeen = Math.max(lastSeen, seenAt);
      // Due once the lag window, measured now, has passed since the last look: the applier has then applied
      // what the monolith had committed at that look. The lag is asked for again after each wait, so a lag
      // that grew meanwhile (an applier falling behind) extends the wait instead of reporting rows still in
      // flight; an unknown one (a process just started) is asked for every UNKNOWN_LAG_POLL_MS. Never past
      // maxRecheckDelayMs after the look.
      for (;;) {
        const lag = this.options.lagMs();
        const delay =
          lag === null
            ? this.options.maxRecheckDelayMs
            : Math.min(lag + this.options.recheckMarginMs, this.options.maxRecheckDelayMs);
        const wait = lastSeen + delay - this.clock.now();
        if (wait <= 0) break;
        await this.clock.sleep(lag === null ? Math.min(wait, UNKNOWN_LAG_POLL_MS) : wait, signal);
      }
      const ids = [...suspects.keys()];
      for (let i = 0; i < ids.length; i += chunkSize) {
        if (signal.aborted) throw new StoppedError('parity checker stopped');
        const batch = { ids: ids.slice(i, i + chunkSize) };
        await budget.ready(batch.ids.length, signal);
        const [sd, td] = await Promise.all([rowDigests(source, batch), rowDigests(target, batch)]);
        rowsRead.source += sd.size;
        rowsRead.target += td.size;
        budget.spend(Math.max(sd.size, td.size));
        for (const id of batch.ids) {
          const entry = suspects.get(id)!;
          const [now, there] = [sd.get(id), td.get(id)];
          if (now === there) {
            found.settled++;
            suspects.delete(id);
          } else if (now === entry.sourceDigest || entry.looks + 1 >= this.maxRechecks) {
            // The target had a whole lag window to catch up with this very source row, and did not.
            found.add(difference(now, there), id);
            suspects.delete(id);
          } else {
            // The source moved meanwhile: give the target a lag window for the new value.
            suspects.set(id, { sourceDigest: now, seenAt: this.clock.now(), looks: entry.looks + 1 });
          }
        }
      }
    }

    const endedAt = this.clock.now();
    const differing = found.counts.mismatched + found.counts.missing + found.counts.extra;
    return {
      state: differing === 0 ? 'ok' : 'mismatch',
      reason,
      startedAt: new Date(startedAt).toISOString(),
      checkedAt: new Date(endedAt).toISOString(),
      durationMs: endedAt - startedAt,
      rows,
      ...found.counts,
      sampleIds: found.sampleIds(),
      samples: found.samples,
      settled: found.settled,
      rowsRead,
    };
  }
}

function difference(sourceDigest: string | undefined, targetDigest: string | undefined): Difference {
  if (sourceDigest === undefined) return 'extra';
  return targetDigest === undefined ? 'missing' : 'mismatched';
}

/** The lowest of the ids given, ignoring nulls; null when there is none. */
function lowest(...ids: (number | null)[]): number | null {
  const present = ids.filter((id): id is number => id !== null);
  return present.length > 0 ? Math.min(...present) : null;
}

/** The differences of a pass: every one counted, the lowest ids of each kind kept as samples. */
class Findings {
  readonly counts: Record<Difference, number> = { mismatched: 0, missing: 0, extra: 0 };
  readonly samples: Record<Difference, number[]> = { mismatched: [], missing: [], extra: [] };
  settled = 0;

  constructor(private readonly sampleSize: number) {}

  add(kind: Difference, id: number): void {
    this.counts[kind]++;
    const sample = this.samples[kind];
    sample.push(id);
    sample.sort((a, b) => a - b);
    if (sample.length > this.sampleSize) sample.pop();
  }

  sampleIds(): number[] {
    return DIFFERENCES.flatMap((kind) => this.samples[kind])
      .sort((a, b) => a - b)
      .slice(0, this.sampleSize);
  }
}
