import { setTimeout as delay } from 'node:timers/promises';

/** Time as the checker sees it; tests pass a virtual one, so limits are proven by counting, not timing. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}),
};

/**
 * A token bucket of rows: `rowsPerSecond` flow in, at most `burst` are kept. A reader waits until the bucket
 * holds as many rows as its read may return (`ready`), reads, and pays what it actually read (`spend`). The
 * bucket never goes below zero, so any window of `w` seconds reads at most `burst + rowsPerSecond * w` rows.
 */
export class RowBudget {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly rowsPerSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.updatedAt = clock.now();
  }

  /** Resolves once a read of up to `rows` rows (at most `burst`) may start. */
  async ready(rows: number, signal?: AbortSignal): Promise<void> {
    if (this.rowsPerSecond === Number.POSITIVE_INFINITY) return;
    this.refill();
    const missing = Math.min(rows, this.burst) - this.tokens;
    if (missing > 0) {
      await this.clock.sleep((missing * 1000) / this.rowsPerSecond, signal);
      this.refill();
    }
  }

  /** Pays for the rows a read returned. */
  spend(rows: number): void {
    this.refill();
    this.tokens -= rows;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.rowsPerSecond) / 1000);
    this.updatedAt = now;
  }
}
