import {
  type DataNumbers,
  type Mismatch,
  type Outcome,
  PLAN_DEFAULTS,
  type RolloutPlan,
  type SideWindow,
  type WindowStats,
} from '@cinemaabyss/admin-contract';
import type { DataReading } from '../data/status.js';

export type { Mismatch, Outcome, SideWindow, WindowStats };

export interface Verdict {
  outcome: Outcome;
  /** In words, with the numbers, e.g. `new 5xx 2.4 % (n=1 204) vs old 0.1 % (n=3 611): increase 2.3 pp > 1 pp`. */
  reason: string;
  numbers: WindowStats & { mismatch?: Mismatch; latencyLimitMs: number; data?: DataNumbers };
  /** Set when the flag's data has no parity pass since the step began: the driver asks for one. */
  parityWanted?: boolean;
}

/** The data behind a flag with a data domain, as the driver read it for this decision. */
export interface DataInput {
  domain: string;
  reading: DataReading;
  nowMs: number;
  /** When the current step's percent was set: parity must have passed since. */
  stepStartedAtMs: number;
}

/**
 * A status document older than this is stale: the sync process rewrites it every 1 to 2 s, so five
 * missed rewrites mean it is stuck or gone (its 30 s TTL would take longer to say so).
 */
export const DATA_STALE_MS = 10_000;

const round1 = (x: number) => String(Math.round(x * 10) / 10);
/** 2.4 %, 0.1 %, 0 % */
const pct = (fraction: number) => `${round1(fraction * 100)} %`;
/** 1 204, 3 611: grouped with spaces, as in the decisions operators read. */
const count = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
const ms = (x: number) => `${Math.round(x)} ms`;

/**
 * The rollout's one decision over a window: hold without enough data on either side (a rollout never
 * moves on no data), roll back when the new side is worse than the old side by more than the plan
 * allows, advance otherwise. Pure: the driver supplies the window. On a flag with a data domain the
 * data's status (`dataInput`) rolls back first on a parity mismatch, and holds what would advance while
 * the data is not ready (`judgeData`).
 */
export function judge(
  plan: RolloutPlan,
  stats: WindowStats,
  mismatch?: Mismatch,
  dataInput?: DataInput,
): Verdict {
  const latencyLimitMs = Math.max(plan.latencyFloorMs, plan.maxLatencyRatio * stats.old.p99Ms);
  const data = dataInput && judgeData(plan, dataInput);
  const numbers = {
    ...stats,
    latencyLimitMs,
    ...(mismatch && { mismatch }),
    ...(data && { data: data.numbers }),
  };
  const verdict = (outcome: Outcome, reasons: string[]): Verdict => ({
    outcome,
    reason: reasons.join('; '),
    numbers,
    ...(data?.parityWanted && { parityWanted: true }),
  });

  const errors = `new 5xx ${pct(stats.new.errorRate)} (n=${count(stats.new.requests)}) vs old ${pct(stats.old.errorRate)} (n=${count(stats.old.requests)})`;
  const latency = `p99 ${ms(stats.new.p99Ms)} vs ${ms(stats.old.p99Ms)}`;
  const judgeMismatch = plan.maxMismatchRate !== undefined;
  const mismatchText = mismatch && `mismatch ${pct(mismatch.rate)} (n=${count(mismatch.samples)})`;

  // Data that differs while the monolith still owns the writes: moving more traffic onto it is wrong
  // whatever the traffic says.
  if (data?.rollback) return verdict('rollback', [data.rollback]);

  const short = (['new', 'old'] as const).filter((side) => stats[side].requests < plan.minRequests);
  if (short.length > 0)
    return verdict('hold', [
      `too little traffic: ${short.map((side) => `${side} n=${count(stats[side].requests)}`).join(', ')} < ${count(plan.minRequests)} needed on each side`,
      ...(data?.holds ?? []),
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
  if (data && data.holds.length > 0) return verdict('hold', data.holds);

  if (judgeMismatch && !enoughMismatchSamples)
    return verdict('hold', [
      `too few shadow comparisons: ${mismatch ? `n=${count(mismatch.samples)}` : 'none'} < ${count(plan.minRequests)} needed`,
    ]);
  return verdict('advance', [
    `healthy: ${errors}; ${latency} (limit ${ms(latencyLimitMs)})${mismatchText ? `; ${mismatchText}` : ''}${data ? `; ${data.healthy}` : ''}`,
  ]);
}

interface DataJudgement {
  rollback?: string;
  holds: string[];
  numbers: DataNumbers;
  /** The data's part of an advance's reason. */
  healthy?: string;
  parityWanted?: boolean;
}

/**
 * The data rules of a flag with a data domain, for `judge` to combine with the traffic's: roll back on a
 * parity mismatch while the monolith owns the writes; hold while the status is missing or stale, the lag
 * is over `maxDataLagMs`, or parity has not passed since the step began.
 */
function judgeData(plan: RolloutPlan, { domain, reading, nowMs, stepStartedAtMs }: DataInput): DataJudgement {
  const maxDataLagMs = plan.maxDataLagMs ?? PLAN_DEFAULTS.maxDataLagMs;
  const stepStartedAt = new Date(stepStartedAtMs).toISOString();
  const holds: string[] = [];
  if ('problem' in reading) {
    holds.push(`data ${domain}: ${reading.problem}`);
    return { holds, numbers: { domain, maxDataLagMs, stepStartedAt } };
  }
  const { status } = reading;
  const { parity } = status;
  const ageMs = nowMs - Date.parse(status.updatedAt);
  const numbers: DataNumbers = {
    domain,
    writes: status.writes,
    updatedAt: status.updatedAt,
    ageMs,
    lagMs: status.lagMs,
    lagP99Ms: status.lagP99Ms ?? null,
    maxDataLagMs,
    stepStartedAt,
    parity: {
      state: parity.state,
      checkedAt: parity.checkedAt,
      ...(parity.mismatched != null && { mismatched: parity.mismatched }),
      ...(parity.missing != null && { missing: parity.missing }),
      ...(parity.extra != null && { extra: parity.extra }),
      ...(parity.sampleIds != null && { sampleIds: parity.sampleIds }),
    },
  };
  if (parity.state === 'mismatch' && status.writes === 'monolith') {
    const ids = parity.sampleIds?.length ? parity.sampleIds.join(', ') : 'none sampled';
    const rollback = `data ${domain}: parity mismatch at ${parity.checkedAt}: ${parity.mismatched ?? 0} mismatched, ${parity.missing ?? 0} missing, ${parity.extra ?? 0} extra of ${count(parity.rows ?? 0)} rows (ids ${ids}) while the monolith owns the writes`;
    return { rollback, holds, numbers };
  }
  if (!(ageMs <= DATA_STALE_MS))
    holds.push(
      `data ${domain}: status stale: updated ${round1(ageMs / 1000)} s ago > ${DATA_STALE_MS / 1000} s`,
    );
  if (status.lagMs === null) holds.push(`data ${domain}: lag not measured yet`);
  else if (status.lagMs > maxDataLagMs)
    holds.push(`data ${domain}: lag ${ms(status.lagMs)} > ${ms(maxDataLagMs)} allowed`);
  const checkedMs = parity.checkedAt === null ? Number.NaN : Date.parse(parity.checkedAt);
  const parityWanted = parity.state !== 'ok' || !(checkedMs >= stepStartedAtMs);
  if (parityWanted)
    holds.push(
      `data ${domain}: parity not passed since the step began at ${stepStartedAt} (last: ${parity.state}${parity.checkedAt ? ` at ${parity.checkedAt}` : ''})`,
    );
  const healthy = `data ${domain}: lag ${ms(status.lagMs ?? 0)} (limit ${ms(maxDataLagMs)}), parity ok at ${parity.checkedAt} (n=${count(parity.rows ?? 0)})`;
  return { holds, numbers, healthy, parityWanted };
}
