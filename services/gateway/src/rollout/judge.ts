import type { Mismatch, Outcome, RolloutPlan, SideWindow, WindowStats } from '@cinemaabyss/admin-contract';

export type { Mismatch, Outcome, SideWindow, WindowStats };

export interface Verdict {
  outcome: Outcome;
  /** In words, with the numbers, e.g. `new 5xx 2.4 % (n=1 204) vs old 0.1 % (n=3 611): increase 2.3 pp > 1 pp`. */
  reason: string;
  numbers: WindowStats & { mismatch?: Mismatch; latencyLimitMs: number };
}

const round1 = (x: number) => String(Math.round(x * 10) / 10);
/** 2.4 %, 0.1 %, 0 % */
const pct = (fraction: number) => `${round1(fraction * 100)} %`;
/** 1 204, 3 611: grouped with spaces, as in the decisions operators read. */
const count = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
const ms = (x: number) => `${Math.round(x)} ms`;

/**
 * The rollout's one decision over a window: hold without enough data on either side (a rollout never
 * moves on no data), roll back when the new side is worse than the old side by more than the plan
 * allows, advance otherwise. Pure: the driver supplies the window.
 */
export function judge(plan: RolloutPlan, stats: WindowStats, mismatch?: Mismatch): Verdict {
  const latencyLimitMs = Math.max(plan.latencyFloorMs, plan.maxLatencyRatio * stats.old.p99Ms);
  const numbers = { ...stats, latencyLimitMs, ...(mismatch && { mismatch }) };
  const verdict = (outcome: Outcome, reasons: string[]): Verdict => ({
    outcome,
    reason: reasons.join('; '),
    numbers,
  });

  const errors = `new 5xx ${pct(stats.new.errorRate)} (n=${count(stats.new.requests)}) vs old ${pct(stats.old.errorRate)} (n=${count(stats.old.requests)})`;
  const latency = `p99 ${ms(stats.new.p99Ms)} vs ${ms(stats.old.p99Ms)}`;
  const judgeMismatch = plan.maxMismatchRate !== undefined;
  const mismatchText = mismatch && `mismatch ${pct(mismatch.rate)} (n=${count(mismatch.samples)})`;

  const short = (['new', 'old'] as const).filter((side) => stats[side].requests < plan.minRequests);
  if (short.length > 0)
    return verdict('hold', [
      `too little traffic: ${short.map((side) => `${side} n=${count(stats[side].requests)}`).join(', ')} < ${count(plan.minRequests)} needed on each side`,
    ]);

  const failures: string[] = [];
  const increase = stats.new.errorRate - stats.old.errorRate;
  if (increase > plan.maxErrorRateIncrease)
    failures.push(
      `${errors}: increase ${round1(increase * 100)} pp > ${round1(plan.maxErrorRateIncrease * 100)} pp`,
    );
  if (stats.new.p99Ms > latencyLimitMs)
    failures.push(
      `${latency}: new above ${ms(latencyLimitMs)} = max(${ms(plan.latencyFloorMs)}, ${plan.maxLatencyRatio} x old)`,
    );
  const enoughMismatchSamples = mismatch !== undefined && mismatch.samples >= plan.minRequests;
  if (judgeMismatch && enoughMismatchSamples && mismatch.rate > plan.maxMismatchRate!)
    failures.push(`${mismatchText} > ${pct(plan.maxMismatchRate!)}`);
  if (failures.length > 0) return verdict('rollback', failures);

  if (judgeMismatch && !enoughMismatchSamples)
    return verdict('hold', [
      `too few shadow comparisons: ${mismatch ? `n=${count(mismatch.samples)}` : 'none'} < ${count(plan.minRequests)} needed`,
    ]);
  return verdict('advance', [
    `healthy: ${errors}; ${latency} (limit ${ms(latencyLimitMs)})${mismatchText ? `; ${mismatchText}` : ''}`,
  ]);
}
