import type { MetricFamily, Sample } from '../telemetry/exposition.js';
import type { Outcome } from './judge.js';
import { ROLLOUT_STATES, type RolloutState } from './store.js';

export interface RolloutMetricsSource {
  /** Each rollout's state and step, as this replica last read them from Redis. */
  observed: ReadonlyMap<string, { state: RolloutState; step: number }>;
  /** Decisions this replica took (the cluster's total is the sum over replicas). */
  decisions: ReadonlyMap<string, Record<Outcome, number>>;
}

/** The rollout metrics, for the gateway's exposition. */
export function rolloutFamilies({ observed, decisions }: RolloutMetricsSource): MetricFamily[] {
  const steps: Sample[] = [];
  const states: Sample[] = [];
  const decided: Sample[] = [];
  for (const [flag, { step }] of observed) steps.push({ labels: { flag }, value: step });
  for (const [flag, { state }] of observed)
    for (const each of ROLLOUT_STATES)
      states.push({ labels: { flag, state: each }, value: each === state ? 1 : 0 });
  for (const [flag, counts] of decisions)
    for (const [outcome, n] of Object.entries(counts)) decided.push({ labels: { flag, outcome }, value: n });
  return [
    {
      name: 'gateway_rollout_step',
      help: 'Step index (from 0) of each flag rollout',
      type: 'gauge',
      samples: steps,
    },
    {
      name: 'gateway_rollout_state',
      help: '1 for the current state of each flag rollout, 0 for the others',
      type: 'gauge',
      samples: states,
    },
    {
      name: 'gateway_rollout_decisions_total',
      help: 'Rollout decisions taken by this replica, by outcome',
      type: 'counter',
      samples: decided,
    },
  ];
}
