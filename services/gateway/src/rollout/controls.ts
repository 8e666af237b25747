import { PLAN_DEFAULTS, type RolloutPlan, type RolloutView } from '@cinemaabyss/admin-contract';
import { HttpError } from '@cinemaabyss/service-kit';
import { applyPercent, type FlagWriter } from './flag-writer.js';
import type { DecisionEntry, Rollout, RolloutState, RolloutStore } from './store.js';

export type { RolloutView };

export interface ShadowCheck {
  /** True when the flag's new side is shadowed, so mismatches can be judged. */
  shadowing(flag: string): boolean;
}

/**
 * The operator's side of a rollout, for the admin routes: each action is one compare-and-set on the
 * stored state, recorded in the decisions with the operator, and its percent (changed or not) is
 * written through the FlagWriter with the operator named. Conflicts are 409s naming the state.
 */
export class RolloutControls {
  private readonly now: () => number;

  constructor(
    private readonly store: RolloutStore,
    private readonly writer: FlagWriter,
    private readonly options: {
      shadow?: ShadowCheck;
      now?: () => number;
      /** A flag's data domain, from the routing policy's `data` field. */
      dataDomainOf?: (flag: string) => string | undefined;
    } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async view(flag: string): Promise<RolloutView | undefined> {
    const [rollout, decisions] = await Promise.all([this.store.get(flag), this.store.decisions(flag)]);
    if (!rollout) return undefined;
    const { version: _v, applied: _a, updatedAtMs: _u, ...shown } = rollout;
    return { ...shown, nextDecisionAt: new Date(rollout.nextDecisionAtMs).toISOString(), decisions };
  }

  /**
   * 409 while one is running or paused; 400 when the plan judges mismatches on a flag without shadowing,
   * or data lag on a flag without a data domain. A flag with one gets the default `maxDataLagMs`.
   */
  async start(flag: string, given: RolloutPlan, by: string): Promise<RolloutView> {
    if (given.maxMismatchRate !== undefined && !this.options.shadow?.shadowing(flag))
      throw new HttpError(400, `body.maxMismatchRate: needs shadow traffic on for flag "${flag}"`);
    const domain = this.options.dataDomainOf?.(flag);
    if (given.maxDataLagMs !== undefined && domain === undefined)
      throw new HttpError(400, `body.maxDataLagMs: flag "${flag}" moves no data (it has no data domain)`);
    const plan: RolloutPlan =
      domain === undefined
        ? given
        : { ...given, maxDataLagMs: given.maxDataLagMs ?? PLAN_DEFAULTS.maxDataLagMs };
    const blocking = await this.store.start(flag, plan, by, this.now());
    if (blocking) throw new HttpError(409, `a rollout of "${flag}" is already ${blocking}; abort it first`);
    await applyPercent(this.store, this.writer, flag, `rollout started by ${by}`);
    return (await this.view(flag))!;
  }

  pause(flag: string, by: string): Promise<RolloutView> {
    return this.act(flag, by, ['running'], (r) => ({
      outcome: 'pause',
      state: 'paused',
      step: r.step,
      reason: `paused by ${by}`,
    }));
  }

  /** Back to running at the current step's percent, with a fresh window. */
  resume(flag: string, by: string): Promise<RolloutView> {
    return this.act(flag, by, ['paused'], (r) => ({
      outcome: 'resume',
      state: 'running',
      step: r.step,
      reason: `resumed by ${by} at step ${r.step + 1} (${r.plan.steps[r.step]} %)`,
    }));
  }

  /** The next step now; past the last step the rollout has succeeded. */
  promote(flag: string, by: string): Promise<RolloutView> {
    return this.act(flag, by, ['running', 'paused'], (r) =>
      r.step + 1 < r.plan.steps.length
        ? {
            outcome: 'promote',
            state: r.state,
            step: r.step + 1,
            reason: `promoted by ${by} to step ${r.step + 2}`,
          }
        : {
            outcome: 'promote',
            state: 'succeeded',
            step: r.step,
            reason: `promoted by ${by} past the last step`,
          },
    );
  }

  /** Percent 0, state aborted. */
  abort(flag: string, by: string): Promise<RolloutView> {
    return this.act(flag, by, ['running', 'paused'], (r) => ({
      outcome: 'abort',
      state: 'aborted',
      step: r.step,
      percent: 0,
      reason: `aborted by ${by}`,
    }));
  }

  /**
   * Called by the admin PUT before it changes the percent by hand: a running rollout is paused, so the
   * rollout and the operator never fight over the flag. Returns true if it paused one.
   */
  async pauseForManualChange(flag: string, by: string): Promise<boolean> {
    const rollout = await this.store.get(flag);
    if (rollout?.state !== 'running') return false;
    const result = await this.store.transition(flag, {
      from: { states: ['running'], step: rollout.step },
      to: { ...this.window(rollout), state: 'paused', step: rollout.step, percent: rollout.percent },
      changesPercent: false,
      entry: this.entry(
        'pause',
        rollout.step,
        rollout.percent,
        `paused: manual change of the percent by ${by}`,
        by,
      ),
    });
    return result.ok || (await this.store.get(flag))?.state !== 'running';
  }

  private async act(
    flag: string,
    by: string,
    from: RolloutState[],
    next: (rollout: Rollout) => Action,
  ): Promise<RolloutView> {
    const rollout = await this.store.get(flag);
    if (!rollout) throw new HttpError(404, `no rollout of "${flag}"; start one with POST`);
    if (!from.includes(rollout.state))
      throw new HttpError(409, `the rollout of "${flag}" is ${rollout.state}, not ${from.join(' or ')}`);
    const to = next(rollout);
    const percent = to.percent ?? (to.state === 'succeeded' ? 100 : rollout.plan.steps[to.step]!);
    const result = await this.store.transition(flag, {
      from: { states: from, step: rollout.step },
      to: { ...this.window(rollout), state: to.state, step: to.step, percent },
      // Written even when the percent stays, so every action is in the flag's history with the operator.
      changesPercent: true,
      entry: this.entry(to.outcome, to.step, percent, to.reason, by),
    });
    if (!result.ok) throw new HttpError(409, `the rollout of "${flag}" changed meanwhile; read it and retry`);
    await applyPercent(this.store, this.writer, flag, `rollout: ${to.reason}`);
    return (await this.view(flag))!;
  }

  private window(rollout: Rollout) {
    const now = this.now();
    return { windowStartMs: now, nextDecisionAtMs: now + rollout.plan.intervalMs };
  }

  private entry(
    outcome: DecisionEntry['outcome'],
    step: number,
    percent: number,
    reason: string,
    by: string,
  ): DecisionEntry {
    return { at: new Date(this.now()).toISOString(), step, percent, outcome, reason, by };
  }
}

interface Action {
  outcome: 'pause' | 'resume' | 'promote' | 'abort';
  state: RolloutState;
  step: number;
  /** Default: the step's percent (100 once succeeded). */
  percent?: number;
  reason: string;
}
