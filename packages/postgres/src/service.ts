import type { ServiceMetrics } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createDatabase, type Database } from './database.js';

/** The environment every PostgreSQL-backed service reads, spread into its config schema. */
export const databaseEnv = {
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// connection URL' })
    .default('postgres://cinemaabyss:cinemaabyss@127.0.0.1:5432/cinemaabyss'),
  /** How many times start-up tries to reach the database (with doubling back-off, capped at 5 s) before giving up. */
  DB_CONNECT_ATTEMPTS: z.coerce
    .number({ error: 'must be a whole number from 1 to 100' })
    .int({ error: 'must be a whole number from 1 to 100' })
    .min(1, { error: 'must be a whole number from 1 to 100' })
    .max(100, { error: 'must be a whole number from 1 to 100' })
    .default(10),
};

interface ServiceDatabaseOptions {
  url: string;
  connectAttempts: number;
  /** Liveness: the process serves HTTP. Restarting it would not bring a lost database back. */
  healthPath: string;
  /** Readiness: only worth sending traffic while the database answers and no shutdown is under way. */
  readyPath: string;
  isShuttingDown?: () => boolean;
  /** Where the pool gauges and the query error counter go. */
  metrics: ServiceMetrics;
}

/**
 * Gives a service its database: start-up waits (boundedly) until it answers, the pool closes with the app,
 * and the health and readiness routes report on it. Register after the error handling.
 */
export function serviceDatabase(app: FastifyInstance, options: ServiceDatabaseOptions): Database {
  const db = createDatabase(options.url, app.log, { metrics: options.metrics });
  app.addHook('onReady', () =>
    db.waitUntilReachable(app.log, {
      attempts: options.connectAttempts,
      initialDelayMs: 250,
      maxDelayMs: 5000,
    }),
  );
  app.addHook('onClose', () => db.close());
  app.get(options.healthPath, async () => ({ status: true }));
  app.get(options.readyPath, async (_request, reply) => {
    if (options.isShuttingDown?.()) return reply.code(503).send({ status: false, error: 'shutting down' });
    if (!(await db.isReachable())) {
      return reply.code(503).send({ status: false, error: `database ${db.target} unreachable` });
    }
    return { status: true };
  });
  return db;
}
