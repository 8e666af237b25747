/** What the status publisher reads: the current lag and its p99 over the recent window, in ms. */
export interface Lag {
  /** Apply time minus the source's commit time, growing while nothing arrives at all; null before any. */
  lagMs(): number | null;
  /** The 99th percentile of the lags measured in the window; null when none was. */
  lagP99Ms(): number | null;
}

/**
 * Lag as measured by movies-sync: for each applied unit, apply time minus source.ts_ms (the monolith's
 * commit time). Debezium's heartbeat writes a row every heartbeat interval, so an idle stream still brings
 * a fresh measurement; when even heartbeats stop (capture paused, Connect down, this process stuck), the lag
 * counts up from the last source time seen instead of freezing at the last good value.
 */
export class LagTracker implements Lag {
  private samples: { at: number; lagMs: number }[] = [];
  private last: { lagMs: number; sourceTsMs: number } | undefined;

  constructor(
    /** How often a heartbeat is expected; silence beyond it counts as lag. */
    private readonly heartbeatIntervalMs: number,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  record(sourceTsMs: number): number {
    const at = this.now();
    const lagMs = Math.max(0, at - sourceTsMs);
    this.last = { lagMs, sourceTsMs };
    this.samples.push({ at, lagMs });
    const keepFrom = at - this.windowMs;
    if (this.samples[0] && this.samples[0].at < keepFrom)
      this.samples = this.samples.filter((s) => s.at >= keepFrom);
    return lagMs;
  }

  lagMs(): number | null {
    if (!this.last) return null;
    const silence = this.now() - this.last.sourceTsMs - this.heartbeatIntervalMs;
    return Math.max(this.last.lagMs, silence);
  }

  lagP99Ms(): number | null {
    const keepFrom = this.now() - this.windowMs;
    const lags = this.samples.filter((s) => s.at >= keepFrom).map((s) => s.lagMs);
    if (lags.length === 0) return null;
    lags.sort((a, b) => a - b);
    return lags[Math.min(lags.length - 1, Math.ceil(lags.length * 0.99) - 1)] ?? null;
  }
}
