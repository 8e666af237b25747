import { LATENCY_BUCKETS, type ServiceMetrics } from '@cinemaabyss/service-kit';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Applied } from './apply.js';
import type { Lag } from './lag.js';
import type { Unit } from './units.js';

export interface SyncMetrics {
  applied(unit: Unit, applied: Applied, lagMs: number): void;
  skipped(reason: 'malformed' | 'rejected'): void;
  committed(offset: bigint): void;
}

/** movies-sync's own series, beside the process and request metrics of its registry. */
export function syncMetrics({ prefix, registry }: ServiceMetrics, lag: Lag): SyncMetrics {
  const units = new Counter({
    name: `${prefix}_units_applied_total`,
    help: 'Units applied to the movies database, by kind (a source transaction, a batch of snapshot reads)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const rows = new Counter({
    name: `${prefix}_rows_applied_total`,
    help: 'Source rows that moved forward in the movies database, by source table',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const skipped = new Counter({
    name: `${prefix}_messages_skipped_total`,
    help: 'Messages not applied: malformed (not what the connector writes) or rejected by PostgreSQL',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const applyLag = new Histogram({
    name: `${prefix}_apply_lag_seconds`,
    help: 'Per applied unit: commit in the monolith to committed in the movies database',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: `${prefix}_lag_seconds`,
    help: 'Current lag: the last measured one, or the time since the source was last heard of when silent',
    registers: [registry],
    collect() {
      const ms = lag.lagMs();
      if (ms !== null) this.set(ms / 1000);
    },
  });
  const offset = new Gauge({
    name: `${prefix}_committed_offset`,
    help: 'The next offset of the change topic movies-sync will read after a restart',
    registers: [registry],
  });
  for (const reason of ['malformed', 'rejected']) skipped.inc({ reason }, 0);
  return {
    applied(unit, applied, lagMs) {
      units.inc({ kind: unit.kind });
      for (const [table, count] of Object.entries(applied.rows)) if (count > 0) rows.inc({ table }, count);
      applyLag.observe(lagMs / 1000);
    },
    skipped: (reason) => skipped.inc({ reason }),
    committed: (next) => offset.set(Number(next)),
  };
}
