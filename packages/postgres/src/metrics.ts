import type { ServiceMetrics } from '@cinemaabyss/service-kit';
import type pg from 'pg';
import { Counter, Gauge } from 'prom-client';
import type { QueryErrorCause } from './database.js';

const causes: readonly QueryErrorCause[] = ['unavailable', 'timeout', 'rejected'];

/**
 * `<prefix>_db_pool_connections{state}`, read from the pool at each scrape, and
 * `<prefix>_db_query_errors_total{cause}`; returns the function that counts an error.
 */
export function databaseMetrics({ prefix, registry }: ServiceMetrics, pool: pg.Pool) {
  new Gauge({
    name: `${prefix}_db_pool_connections`,
    help: 'Connections of the database pool: total open, idle, and waiting (queries queued for a connection)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  const errors = new Counter({
    name: `${prefix}_db_query_errors_total`,
    help: 'Failed queries: database unavailable, timed out, or rejected by the server (e.g. a violated key)',
    labelNames: ['cause'] as const,
    registers: [registry],
  });
  // Every cause from zero, so rate() has a series before the first error.
  for (const cause of causes) errors.inc({ cause }, 0);
  return (cause: QueryErrorCause) => errors.inc({ cause });
}
