import type { ClusterCounters } from '../redis/cluster-counters.js';
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
/** A slot's counts as one array: per side its requests, its errors, then its buckets. */
const STRIDE = 2 + BUCKETS + 1;
const FIELD_OF_INDEX = (['old', 'new'] as const).flatMap((side) => [
  FIELDS[side].requests,
  FIELDS[side].errors,
  ...FIELDS[side].buckets,
]);

interface Slot {
  series: string;
  startMs: number;
  endMs: number;
  counts: number[];
}

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
  /** Each flag's current slot: counted in a plain array, handed to the counters at each flush. */
  private readonly current = new Map<string, Slot>();

  constructor(
    private readonly counters: ClusterCounters,
    options: SideStatsOptions = {},
  ) {
    this.resolutionMs = options.resolutionMs ?? 1_000;
    this.now = options.now ?? Date.now;
    counters.onFlush(() => {
      for (const slot of this.current.values()) this.handOver(slot);
    });
  }

  /**
   * Counts one answered request. Errors are 5xx (the gateway's own 502/504 included) and fallbacks: a
   * request decided for the new side but answered by the old one is counted on the new side, as an error.
   */
  record(flag: string, side: Side, statusCode: number, seconds: number, fellBack = false): void {
    const now = this.now();
    let slot = this.current.get(flag);
    if (!slot || now >= slot.endMs) {
      if (slot) this.handOver(slot);
      const index = Math.floor(now / this.resolutionMs);
      const startMs = index * this.resolutionMs;
      slot = {
        series: seriesName(flag, index),
        startMs,
        endMs: startMs + this.resolutionMs,
        counts: new Array(2 * STRIDE).fill(0),
      };
      this.current.set(flag, slot);
    }
    // Array increments: counting through ClusterCounters' string-keyed Maps on every request cost
    // 2-3 % of the gateway's throughput head to head (docs/benchmarks.md).
    const counts = slot.counts;
    const base = fellBack || side === 'new' ? STRIDE : 0;
    counts[base] = counts[base]! + 1;
    if (statusCode >= 500 || fellBack) counts[base + 1] = counts[base + 1]! + 1;
    const ms = seconds * 1000;
    const bucket = base + 2 + (ms <= 1 ? 0 : Math.min(BUCKETS, Math.ceil(Math.log2(ms) * PER_DOUBLING)));
    counts[bucket] = counts[bucket]! + 1;
  }

  /** Moves a slot's counts so far into the cluster counters, in the slot's own second. */
  private handOver(slot: Slot): void {
    const { counts } = slot;
    for (let i = 0; i < counts.length; i++) {
      const n = counts[i]!;
      if (n === 0) continue;
      this.counters.add(slot.series, FIELD_OF_INDEX[i]!, n, slot.startMs);
      counts[i] = 0;
    }
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
