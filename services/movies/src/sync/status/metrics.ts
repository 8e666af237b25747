import type { ServiceMetrics } from '@cinemaabyss/service-kit';
import { Counter, Gauge } from 'prom-client';
import type { ParityReport } from '../parity/checker.js';
import { CONNECTOR_STATES, type ConnectorState } from './connector.js';
import { CONNECTOR_NAME, REPLICATION_SLOT } from './document.js';

const RESULTS = ['equal', 'mismatched', 'missing', 'extra'] as const;
const OUTCOMES = ['ok', 'mismatch', 'failed'] as const;

/** What the gauges show at each scrape: the last pass and the last probes. */
export interface DataObservations {
  parity: ParityReport | undefined;
  connector: ConnectorState | undefined;
  retainedWalBytes: number | null;
}

/**
 * The data metrics of the sync process, under its service prefix (docs/data.md lists them; the alert rules
 * of deploy/prometheus use them): the last parity pass's rows by result, its time and duration, passes by
 * outcome, the slot's retained WAL and the connector's state (1 for the current one, 0 for the others).
 * Gauges read `observed` at each scrape; returns the function that counts a pass.
 */
export function dataMetrics({ prefix, registry }: ServiceMetrics, observed: () => DataObservations) {
  new Gauge({
    name: `${prefix}_parity_rows`,
    help: 'Rows of the last full parity pass by result: equal, mismatched, missing (in the monolith only), extra (in the movies database only)',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const report = observed().parity;
      if (!report) return;
      const differing = report.mismatched + report.missing + report.extra;
      this.set({ result: 'equal' }, report.rows - differing);
      for (const result of RESULTS.slice(1))
        this.set({ result }, report[result as Exclude<(typeof RESULTS)[number], 'equal'>]);
    },
  });
  new Gauge({
    name: `${prefix}_parity_last_pass_timestamp_seconds`,
    help: 'When the last full parity pass finished (Unix time)',
    registers: [registry],
    collect() {
      this.reset();
      const report = observed().parity;
      if (report) this.set(Date.parse(report.checkedAt) / 1000);
    },
  });
  new Gauge({
    name: `${prefix}_parity_last_pass_duration_seconds`,
    help: 'How long the last full parity pass took, re-checks included',
    registers: [registry],
    collect() {
      this.reset();
      const report = observed().parity;
      if (report) this.set(report.durationMs / 1000);
    },
  });
  const passes = new Counter({
    name: `${prefix}_parity_passes_total`,
    help: 'Full parity passes by outcome: ok, mismatch, or failed (a database unreachable or too slow)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of OUTCOMES) passes.inc({ outcome }, 0);
  new Gauge({
    name: `${prefix}_replication_slot_retained_wal_bytes`,
    help: 'WAL the source database keeps for the capture slot, from its restart point to the current end',
    labelNames: ['slot'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const bytes = observed().retainedWalBytes;
      if (bytes !== null) this.set({ slot: REPLICATION_SLOT }, bytes);
    },
  });
  new Gauge({
    name: `${prefix}_connector_state`,
    help: 'State of the Debezium connector (its tasks folded in) as Kafka Connect reports it: 1 for the current state, UNKNOWN when Connect does not answer',
    labelNames: ['connector', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const current = observed().connector;
      if (current === undefined) return;
      for (const state of CONNECTOR_STATES)
        this.set({ connector: CONNECTOR_NAME, state }, state === current ? 1 : 0);
    },
  });
  return (outcome: (typeof OUTCOMES)[number]) => passes.inc({ outcome });
}
