import type { Redis } from 'ioredis';

const KEY_PREFIX = 'cinemaabyss:window:';

export const windowKey = (series: string, second: number) => `${KEY_PREFIX}${series}:${second}`;

export interface ClusterCountersOptions {
  /** How often the counts of this replica are written to Redis. */
  flushMs?: number;
  /** How long a second's window lives in Redis. */
  retentionSeconds?: number;
  /** Windows kept in memory while Redis is unreachable; older ones are dropped (and counted). */
  maxPendingSeconds?: number;
  now?: () => number;
}

/**
 * Counters summed over every gateway replica, in per-second windows kept in Redis (a hash per series and
 * second). A replica counts in memory on the request path and writes its counts in one batch
 * per flush, so nothing on the request path waits for Redis; any replica reads the cluster's sum over a
 * time range. Shadow comparisons and rollout analysis are both counted here.
 */
export class ClusterCounters {
  /** `series` → second → field → count, not yet written to Redis. */
  private pending = new Map<string, Map<number, Map<string, number>>>();
  private readonly flushMs: number;
  private readonly retentionSeconds: number;
  private readonly maxPendingSeconds: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly collectors: Array<() => void> = [];
  private last:
    | { series: string; second: number; pending: ClusterCounters['pending']; fields: Map<string, number> }
    | undefined;
  /** Counts dropped because Redis stayed unreachable longer than maxPendingSeconds. */
  droppedWindows = 0;

  constructor(
    private readonly redis: Redis,
    options: ClusterCountersOptions = {},
  ) {
    this.flushMs = options.flushMs ?? 1_000;
    this.retentionSeconds = options.retentionSeconds ?? 3_600;
    this.maxPendingSeconds = options.maxPendingSeconds ?? 120;
    this.now = options.now ?? Date.now;
  }

  /** Runs `collect` at the start of every flush: a caller counting in a cheaper form of its own adds it then. */
  onFlush(collect: () => void): void {
    this.collectors.push(collect);
  }

  /** Starts flushing every flushMs; the timer never keeps the process alive. */
  start(): this {
    this.timer ??= setInterval(() => void this.flush().catch(() => {}), this.flushMs);
    this.timer.unref();
    return this;
  }

  /** Counts `n` for `field` of `series` in the second of `atMs` (now). Synchronous, no I/O. */
  add(series: string, field: string, n = 1, atMs = this.now()): void {
    const second = Math.floor(atMs / 1000);
    // A request adds two or three fields to one series in one second: the last lookup is kept for them.
    const last = this.last;
    let fields: Map<string, number>;
    if (last && last.series === series && last.second === second && last.pending === this.pending)
      fields = last.fields;
    else {
      fields = entry(
        entry(this.pending, series, () => new Map()),
        second,
        () => new Map(),
      );
      this.last = { series, second, pending: this.pending, fields };
    }
    fields.set(field, (fields.get(field) ?? 0) + n);
  }

  /**
   * Writes everything counted so far in one transaction. On failure the counts stay pending and are written
   * with the next flush, up to maxPendingSeconds of them.
   */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** The cluster's sum of each field of `series` over the seconds from `fromMs` up to `toMs` (exclusive). */
  async read(series: string, fromMs: number, toMs: number): Promise<Record<string, number>> {
    const first = Math.floor(fromMs / 1000);
    const last = Math.ceil(toMs / 1000) - 1;
    const totals: Record<string, number> = {};
    if (last < first) return totals;
    const pipeline = this.redis.pipeline();
    for (let second = first; second <= last; second++) pipeline.hgetall(windowKey(series, second));
    for (const [error, hash] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      for (const [field, value] of Object.entries(hash as Record<string, string>))
        totals[field] = (totals[field] ?? 0) + Number(value);
    }
    return totals;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => {});
  }

  private async write(): Promise<void> {
    for (const collect of this.collectors) collect();
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    // One transaction: a batch is applied whole or not at all, so requeueing a failed one never counts
    // twice (short of a reply lost after EXEC ran).
    const transaction = this.redis.multi();
    for (const [series, seconds] of batch) {
      for (const [second, fields] of seconds) {
        const key = windowKey(series, second);
        for (const [field, n] of fields) transaction.hincrby(key, field, n);
        transaction.expire(key, this.retentionSeconds);
      }
    }
    try {
      const results = (await transaction.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
    } catch (error) {
      this.requeue(batch);
      throw error;
    }
  }

  /** Puts an unwritten batch back, newest counts merged in, dropping seconds older than the bound. */
  private requeue(batch: Map<string, Map<number, Map<string, number>>>): void {
    const oldest = Math.floor(this.now() / 1000) - this.maxPendingSeconds;
    for (const [series, seconds] of batch) {
      for (const [second, fields] of seconds) {
        if (second < oldest) {
          this.droppedWindows++;
          continue;
        }
        for (const [field, n] of fields) {
          const counts = entry(
            entry(this.pending, series, () => new Map()),
            second,
            () => new Map(),
          );
          counts.set(field, (counts.get(field) ?? 0) + n);
        }
      }
    }
  }
}

/** The map's value for `key`, created first when there is none. */
function entry<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
