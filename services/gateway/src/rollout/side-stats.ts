import type { ClusterCounters } from '../telemetry/cluster-counters.js';
import type { SideWindow, WindowStats } from './judge.js';

export type Side = 'old' | 'new';

/** Buckets per doubling: bounds 2^(i/4) ms, each 19 % above the last, from 1 ms to 55 s. */
const PER_DOUBLING = 4;
const BUCKETS = 64;
/** Upper bound of bucket i in ms; bucket BUCKETS holds everything slower. */
export const bucketBoundMs = (i: number) => 2 ** (i / PER_DOUBLING);

interface Fields {
  requests: string;
  errors: string;
  buckets: string[];
}
const fieldsOf = (side: Side): Fields => ({
  requests: `${side}:n`,
  errors: `${side}:e`,
  buckets: Array.from({ length: BUCKETS + 1 }, (_, i) => `${side}:b${i}`),
});
const FIELDS: Record<Side, Fields> = { old: fieldsOf('old'), new: fieldsOf('new') };

export interface SideStatsOptions {
  /**
   * Width of one counting slot: a window is read in whole slots, so it must be well below the shortest
   * interval (1 s for minute-long steps; 50-100 ms for the tests' 200 ms intervals).
   */
  resolutionMs?: number;
  now?: () => number;
}

/**
 * Per-side counts of every migrating route, cluster-wide: requests, errors and a log-spaced latency
 * histogram per flag, side and slot, counted through ClusterCounters (so on the request path only in
 * memory) and read back as one window's stats for the rollout's judge.
 */
export class SideStats {
  private readonly resolutionMs: number;
  private readonly now: () => number;
  /** The series of each flag's current slot, rebuilt once per slot instead of per request. */
  private readonly current = new Map<string, { name: string; endMs: number }>();

  constructor(
    private readonly counters: ClusterCounters,
    options: SideStatsOptions = {},
  ) {
    this.resolutionMs = options.resolutionMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Counts one answered request. Errors are 5xx (the gateway's own 502/504 included) and fallbacks: a
   * request decided for the new side but answered by the old one is counted on the new side, as an error.
   */
  record(flag: string, side: Side, statusCode: number, seconds: number, fellBack = false): void {
    const now = this.now();
    let series = this.current.get(flag);
    if (!series || now >= series.endMs) {
      const slot = Math.floor(now / this.resolutionMs);
      series = { name: seriesName(flag, slot), endMs: (slot + 1) * this.resolutionMs };
      this.current.set(flag, series);
    }
    const fields = FIELDS[fellBack ? 'new' : side];
    this.counters.add(series.name, fields.requests);
    if (statusCode >= 500 || fellBack) this.counters.add(series.name, fields.errors);
    const ms = seconds * 1000;
    const bucket = ms <= 1 ? 0 : Math.min(BUCKETS, Math.ceil(Math.log2(ms) * PER_DOUBLING));
    this.counters.add(series.name, fields.buckets[bucket]!);
  }

  /** Both sides' stats over the slots overlapping [fromMs, toMs), summed over every replica. */
  async window(flag: string, fromMs: number, toMs: number): Promise<WindowStats> {
    const first = Math.floor(fromMs / this.resolutionMs);
    const last = Math.ceil(toMs / this.resolutionMs) - 1;
    const reads = [];
    for (let slot = first; slot <= last; slot++)
      reads.push(
        this.counters.read(seriesName(flag, slot), slot * this.resolutionMs, (slot + 1) * this.resolutionMs),
      );
    const totals: Record<string, number> = {};
    for (const counts of await Promise.all(reads))
      for (const [field, n] of Object.entries(counts)) totals[field] = (totals[field] ?? 0) + n;
    return { old: sideWindow(totals, FIELDS.old), new: sideWindow(totals, FIELDS.new) };
  }

  /**
   * `count` consecutive windows of `stepMs` from `fromMs`, each as `window` gives it, and the last
   * `recentSteps` of them as one window, from a single read of each slot (the console's traffic chart).
   */
  async windows(
    flag: string,
    {
      fromMs,
      stepMs,
      count,
      recentSteps,
    }: { fromMs: number; stepMs: number; count: number; recentSteps: number },
  ): Promise<{ steps: WindowStats[]; recent: WindowStats }> {
    const slotsPerStep = Math.max(1, Math.round(stepMs / this.resolutionMs));
    const first = Math.floor(fromMs / this.resolutionMs);
    const reads = [];
    for (let slot = first; slot < first + count * slotsPerStep; slot++)
      reads.push(
        this.counters.read(seriesName(flag, slot), slot * this.resolutionMs, (slot + 1) * this.resolutionMs),
      );
    const steps: Record<string, number>[] = Array.from({ length: count }, () => ({}));
    const recent: Record<string, number> = {};
    (await Promise.all(reads)).forEach((counts, i) => {
      const step = Math.floor(i / slotsPerStep);
      for (const [field, n] of Object.entries(counts)) {
        steps[step]![field] = (steps[step]![field] ?? 0) + n;
        if (step >= count - recentSteps) recent[field] = (recent[field] ?? 0) + n;
      }
    });
    return { steps: steps.map(statsOf), recent: statsOf(recent) };
  }
}

const statsOf = (totals: Record<string, number>): WindowStats => ({
  old: sideWindow(totals, FIELDS.old),
  new: sideWindow(totals, FIELDS.new),
});

const seriesName = (flag: string, slot: number) => `rollout:${flag}:${slot}`;

function sideWindow(totals: Record<string, number>, fields: Fields): SideWindow {
  const requests = totals[fields.requests] ?? 0;
  const errors = totals[fields.errors] ?? 0;
  let p99Ms = 0;
  if (requests > 0) {
    const rank = Math.ceil(0.99 * requests);
    let seen = 0;
    for (let i = 0; i <= BUCKETS; i++) {
      seen += totals[fields.buckets[i]!] ?? 0;
      if (seen >= rank) {
        p99Ms = bucketBoundMs(i);
        break;
      }
    }
  }
  return { requests, errors, errorRate: requests > 0 ? errors / requests : 0, p99Ms };
}
