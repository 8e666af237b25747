import type { FastifyBaseLogger } from 'fastify';
import type { DataStatusSource } from '../data/status.js';
import type { MetricFamily } from '../telemetry/exposition.js';
import { applyPercent, type FlagWriter } from './flag-writer.js';
import { type DataInput, judge, type Mismatch, type Outcome, type WindowStats } from './judge.js';
import type { Lease, Leases } from './lease.js';
import { rolloutFamilies } from './metrics.js';
import type { DecisionEntry, Rollout, RolloutState, RolloutStore, Transition } from './store.js';

/** Shadow comparisons of a flag over a window, summed over every replica (issue 13's counters). */
export interface MismatchSource {
  window(flag: string, fromMs: number, toMs: number): Promise<Mismatch>;
}

export interface RolloutDriverOptions {
  /** The flags this gateway routes (its policy's); only their rollouts are driven by it. */
  flags: () => Iterable<string>;
  store: RolloutStore;
  leases: Leases;
  stats: { window(flag: string, fromMs: number, toMs: number): Promise<WindowStats> };
  writer: FlagWriter;
  mismatch?: MismatchSource;
  /** The status of a flag's data domain; without it a flag with one holds (nothing to judge it on). */
  data?: DataStatusSource;
  /** A flag's data domain, from the routing policy's `data` field; none for a flag that moves no data. */
  dataDomainOf?: (flag: string) => string | undefined;
  log: Pick<FastifyBaseLogger, 'info' | 'warn'>;
  /** How often each replica looks at every rollout; default a third of the lease, so it renews in time. */
  tickMs?: number;
  /** How long after a window closes it is judged: every replica's counts must be flushed by then. */
  settleMs?: number;
  now?: () => number;
}

/**
 * The loop every gateway replica runs. For each running rollout it tries to hold the rollout's lease;
 * the holder judges each interval's window when it has settled and applies the verdict with a write
 * fenced by the lease and conditional on the step it read, so no step is skipped or taken twice, even
 * across a change of holder. Redis unreachable: nothing is decided; when it returns, the gap is
 * recorded and the window restarts.
 */
export class RolloutDriver {
  private readonly tickMs: number;
  private readonly settleMs: number;
  private readonly now: () => number;
  private readonly held = new Map<string, Lease>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  /** Set while this replica cannot reach Redis: the start of the gap to record. */
  private unreachableSince: number | undefined;
  readonly observed = new Map<string, { state: RolloutState; step: number }>();
  readonly decisions = new Map<string, Record<Outcome, number>>();

  constructor(private readonly options: RolloutDriverOptions) {
    this.tickMs = options.tickMs ?? Math.floor(options.leases.ttlMs / 3);
    this.settleMs = options.settleMs ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  start(): this {
    this.timer ??= setInterval(() => {
      this.running ??= this.tick().finally(() => {
        this.running = undefined;
      });
    }, this.tickMs);
    this.timer.unref();
    return this;
  }

  /** True while the last look at Redis failed: every rollout is frozen. */
  get frozen(): boolean {
    return this.unreachableSince !== undefined;
  }

  /** Flags whose rollout this replica drives right now. */
  holding(): string[] {
    return [...this.held.keys()];
  }

  /** The rollout metrics of this replica, for the gateway's exposition. */
  metricFamilies(): MetricFamily[] {
    return rolloutFamilies(this);
  }

  /** Stops the loop, waits for a pass in progress and hands the leases over at once. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
    await Promise.allSettled([...this.held.values()].map((lease) => this.options.leases.release(lease)));
    this.held.clear();
  }

  /** One look at every rollout. */
  async tick(): Promise<void> {
    const started = this.now();
    try {
      for (const flag of this.options.flags()) if (!this.closed) await this.drive(flag);
      this.unreachableSince = undefined;
    } catch (error) {
      if (this.unreachableSince === undefined)
        this.options.log.warn({ err: error }, 'rollouts frozen: Redis is unreachable');
      this.unreachableSince ??= started;
    }
  }

  private async drive(flag: string): Promise<void> {
    const { store, leases, writer } = this.options;
    const rollout = await store.get(flag);
    if (!rollout) return;
    this.observed.set(flag, { state: rollout.state, step: rollout.step });
    const now = this.now();
    // A percent nobody wrote: its writer died between the transition and the write.
    const unwritten = rollout.applied !== rollout.version && now - rollout.updatedAtMs > leases.ttlMs;
    const held = this.held.get(flag);
    if (rollout.state !== 'running' && !unwritten) {
      if (held) await leases.release(held);
      this.held.delete(flag);
      return;
    }
    const lease = await leases.acquire(flag, held);
    if (!lease) {
      this.held.delete(flag);
      return;
    }
    if (lease !== held) this.options.log.info({ flag, lease: lease.value }, 'driving the rollout');
    this.held.set(flag, lease);
    if (unwritten) await applyPercent(store, writer, flag, `rollout: re-applying step ${rollout.step + 1}`);
    if (rollout.state !== 'running') return;

    const overdueMs = now - rollout.nextDecisionAtMs - this.settleMs;
    if (this.unreachableSince !== undefined || overdueMs > rollout.plan.intervalMs) {
      const since = this.unreachableSince ?? rollout.nextDecisionAtMs;
      const reason = `gap: no decision for ${((now - since) / 1000).toFixed(1)} s (${
        this.unreachableSince === undefined ? 'no replica drove the rollout' : 'Redis unreachable'
      }); the window restarts`;
      await this.apply(flag, rollout, lease, {
        outcome: 'gap',
        state: 'running',
        step: rollout.step,
        percent: rollout.percent,
        reason,
      });
      return;
    }
    if (overdueMs < 0) return;

    const { plan } = rollout;
    const windowEnd = rollout.nextDecisionAtMs;
    const stats = await this.options.stats.window(flag, rollout.windowStartMs, windowEnd);
    // At 100 % the old side gets no traffic: the new side is compared with the old side's last window.
    const baseline = rollout.percent === 100 ? await this.baseline(flag, plan.minRequests) : undefined;
    if (baseline) stats.old = baseline;
    const mismatch =
      plan.maxMismatchRate === undefined
        ? undefined
        : await this.options.mismatch?.window(flag, rollout.windowStartMs, windowEnd);
    const data = await this.data(flag, rollout);
    const verdict = judge(plan, stats, mismatch, data);
    if (baseline) verdict.reason += ' (old side: its last judged window, as it gets no traffic at 100 %)';
    const last = rollout.step + 1 >= plan.steps.length;
    const [state, step, percent]: [RolloutState, number, number] =
      verdict.outcome === 'rollback'
        ? ['rolled-back', rollout.step, 0]
        : verdict.outcome === 'hold'
          ? ['running', rollout.step, rollout.percent]
          : last
            ? ['succeeded', rollout.step, 100]
            : ['running', rollout.step + 1, plan.steps[rollout.step + 1]!];
    const applied = await this.apply(flag, rollout, lease, {
      outcome: verdict.outcome,
      state,
      step,
      percent,
      reason: verdict.reason,
      numbers: verdict.numbers,
      // A new step is judged from the moment its percent is set; a hold judges the next window of the
      // same percent, following on from this one.
      ...(verdict.outcome === 'hold' && { windowStartMs: windowEnd }),
    });
    if (!applied) return;
    // A step of a flag with data needs a parity pass newer than its start: ask for one now, rather than
    // wait for the sync process's schedule (a minute apart). Publishing is all; nobody listening is fine.
    if (data && state === 'running' && (verdict.outcome === 'advance' || verdict.parityWanted))
      await this.options.data?.requestVerify(data.domain, `rollout of ${flag} at step ${step + 1}`);
    const counts = this.decisions.get(flag) ?? { advance: 0, hold: 0, rollback: 0 };
    counts[verdict.outcome]++;
    this.decisions.set(flag, counts);
    this.options.log.info(
      { flag, outcome: verdict.outcome, step, percent, reason: verdict.reason },
      'rollout decision',
    );
  }

  /** The flag's data domain's status for the judge, when the flag has a data domain. */
  private async data(flag: string, rollout: Rollout): Promise<DataInput | undefined> {
    const domain = this.options.dataDomainOf?.(flag);
    if (domain === undefined) return undefined;
    const reading = (await this.options.data?.reading(domain)) ?? {
      absent: true,
      problem: 'this gateway has no source of data status',
    };
    // The step began with the newest entry that set its percent; with every such entry trimmed from the
    // list, the oldest entry left (later than the step's start: parity is asked to be newer, not older).
    const decisions = await this.options.store.decisions(flag);
    const began =
      decisions.find((d) => d.outcome === 'start' || d.outcome === 'advance' || d.outcome === 'promote') ??
      decisions.at(-1);
    const stepStartedAtMs = began ? Date.parse(began.at) : rollout.windowStartMs;
    return { domain, reading, nowMs: this.now(), stepStartedAtMs };
  }

  /** The old side of the newest judged window with enough old-side traffic. */
  private async baseline(flag: string, minRequests: number): Promise<WindowStats['old'] | undefined> {
    const decisions = await this.options.store.decisions(flag);
    return decisions.find((d) => (d.numbers?.old.requests ?? 0) >= minRequests)?.numbers?.old;
  }

  /** One fenced transition from the rollout as read; false if it was refused (lease lost or state changed). */
  private async apply(
    flag: string,
    rollout: Rollout,
    lease: Lease,
    to: {
      outcome: Outcome | 'gap';
      state: RolloutState;
      step: number;
      percent: number;
      reason: string;
      numbers?: DecisionEntry['numbers'];
      /** Default: now. */
      windowStartMs?: number;
    },
  ): Promise<boolean> {
    const now = this.now();
    const { outcome, state, step, percent, reason, numbers } = to;
    const windowStartMs = to.windowStartMs ?? now;
    const transition: Transition = {
      from: { states: ['running'], step: rollout.step },
      to: { state, step, percent, windowStartMs, nextDecisionAtMs: windowStartMs + rollout.plan.intervalMs },
      changesPercent: percent !== rollout.percent,
      entry: { at: new Date(now).toISOString(), step, percent, outcome, reason, ...(numbers && { numbers }) },
    };
    const result = await this.options.store.transition(flag, transition, lease);
    if (!result.ok) {
      if (result.why === 'fenced') this.held.delete(flag);
      this.options.log.info({ flag, why: result.why }, 'rollout decision refused; someone else moved first');
      return false;
    }
    this.observed.set(flag, { state, step });
    if (transition.changesPercent)
      await applyPercent(this.options.store, this.options.writer, flag, `rollout ${outcome}: ${reason}`);
    return true;
  }
}
