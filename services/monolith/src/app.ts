import { movieRoutes } from '@cinemaabyss/catalog';
import { createDatabase } from '@cinemaabyss/postgres';
import { errorHandling, fastifyOptions, type ServiceOptions } from '@cinemaabyss/service-kit';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { paymentRoutes } from './payments.js';
import { migrateSchema } from './schema.js';
import { subscriptionRoutes } from './subscriptions.js';
import { userRoutes } from './users.js';

export interface Deps {
  logger?: ServiceOptions['logger'];
  /** True once SIGTERM arrived: readiness fails so traffic drains before the server closes. */
  isShuttingDown?: () => boolean;
}

/** The legacy monolith: users, movies, payments and subscriptions on PostgreSQL. Never listens. */
export async function buildApp(config: Config, deps: Deps = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions({ logLevel: config.LOG_LEVEL, logger: deps.logger }));
  const db = createDatabase(config.DATABASE_URL, app.log);

  // Start-up waits (boundedly) for the database, then migrates if asked; a StartupError ends the process.
  app.addHook('onReady', async () => {
    await db.waitUntilReachable(app.log, {
      attempts: config.DB_CONNECT_ATTEMPTS,
      initialDelayMs: 250,
      maxDelayMs: 5000,
    });
    if (config.DB_MIGRATE_ON_START) await migrateSchema(config.DATABASE_URL, app.log);
  });
  app.addHook('onClose', () => db.close());

  await app.register(errorHandling);
  // Liveness: the process serves HTTP. Restarting it would not bring a lost database back.
  app.get('/health', async () => ({ status: true }));
  // Readiness: only worth sending traffic when the database answers.
  app.get('/ready', async (_request, reply) => {
    if (deps.isShuttingDown?.()) return reply.code(503).send({ status: false, error: 'shutting down' });
    if (!(await db.isReachable())) {
      return reply.code(503).send({ status: false, error: `database ${db.target} unreachable` });
    }
    return { status: true };
  });
  await app.register(userRoutes, { db });
  await app.register(movieRoutes, { db });
  await app.register(paymentRoutes, { db });
  await app.register(subscriptionRoutes, { db });
  return app;
}
