import { movieRoutes } from '@cinemaabyss/catalog';
import { serviceDatabase } from '@cinemaabyss/postgres';
import {
  type AppDeps,
  errorHandling,
  fastifyOptions,
  legacyJsonBody,
  serviceMetrics,
} from '@cinemaabyss/service-kit';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { paymentRoutes } from './payments.js';
import { migrateSchema } from './schema.js';
import { subscriptionRoutes } from './subscriptions.js';
import { userRoutes } from './users.js';

/** The legacy monolith: users, movies, payments and subscriptions on PostgreSQL. Never listens. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions({ logLevel: config.LOG_LEVEL, logger: deps.logger }));
  await app.register(errorHandling);
  const metrics = serviceMetrics(app, 'monolith');
  // Bodies are read as the original system read them, whatever their Content-Type says.
  await app.register(legacyJsonBody);
  const db = serviceDatabase(app, {
    url: config.DATABASE_URL,
    connectAttempts: config.DB_CONNECT_ATTEMPTS,
    healthPath: '/health',
    readyPath: '/ready',
    isShuttingDown: deps.isShuttingDown,
    metrics,
  });
  // Runs after the wait for the database (hooks run in order); a StartupError ends the process. The hook
  // resolves to nothing: Fastify takes any value an onReady hook resolves with as its error.
  if (config.DB_MIGRATE_ON_START) {
    app.addHook('onReady', async () => {
      const applied = await migrateSchema(config.DATABASE_URL, app.log);
      app.log.info(
        { applied },
        applied.length ? `applied ${applied.length} migration(s) on start` : 'database schema is up to date',
      );
    });
  }
  await app.register(userRoutes, { db });
  await app.register(movieRoutes, { db });
  await app.register(paymentRoutes, { db });
  await app.register(subscriptionRoutes, { db });
  return app;
}
