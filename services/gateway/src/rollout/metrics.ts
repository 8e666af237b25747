import type { Outcome } from './judge.js';
import { ROLLOUT_STATES, type RolloutState } from './store.js';

export interface RolloutMetricsSource {
  /** Each rollout's state and step, as this replica last read them from Redis. */
  observed: ReadonlyMap<string, { state: RolloutState; step: number }>;
  /** Decisions this replica took (the cluster's total is the sum over replicas). */
  decisions: ReadonlyMap<string, Record<Outcome, number>>;
}

const label = (value: string) => value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));

/** The rollout metrics in the Prometheus text format, to append to the gateway's /metrics. */
export function renderRolloutMetrics({ observed, decisions }: RolloutMetricsSource): string {
  const lines = [
    '# HELP gateway_rollout_step Step index (from 0) of each flag rollout',
    '# TYPE gateway_rollout_step gauge',
  ];
  for (const [flag, { step }] of observed) lines.push(`gateway_rollout_step{flag="${label(flag)}"} ${step}`);
  lines.push(
    '# HELP gateway_rollout_state 1 for the current state of each flag rollout, 0 for the others',
    '# TYPE gateway_rollout_state gauge',
  );
  for (const [flag, { state }] of observed)
    for (const each of ROLLOUT_STATES)
      lines.push(`gateway_rollout_state{flag="${label(flag)}",state="${each}"} ${each === state ? 1 : 0}`);
  lines.push(
    '# HELP gateway_rollout_decisions_total Rollout decisions taken by this replica, by outcome',
    '# TYPE gateway_rollout_decisions_total counter',
  );
  for (const [flag, counts] of decisions)
    for (const [outcome, n] of Object.entries(counts))
      lines.push(`gateway_rollout_decisions_total{flag="${label(flag)}",outcome="${outcome}"} ${n}`);
  return `${lines.join('\n')}\n`;
}
