import { movieReadRoute } from '@cinemaabyss/catalog';
import { serviceDatabase } from '@cinemaabyss/postgres';
import { type AppDeps, errorHandling, fastifyOptions, serviceMetrics } from '@cinemaabyss/service-kit';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { movieStore } from './movies.js';
import { migrateSchema } from './schema.js';
import { forwardedWrites } from './writes.js';

/**
 * The movies service: reads from its own database (kept in step with the monolith's by movies-sync), and
 * hands writes to the monolith while it owns them. Never listens.
 */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions({ logLevel: config.LOG_LEVEL, logger: deps.logger }));
  await app.register(errorHandling);
  const metrics = serviceMetrics(app, 'movies');
  const db = serviceDatabase(app, {
    url: config.DATABASE_URL,
    connectAttempts: config.DB_CONNECT_ATTEMPTS,
    healthPath: '/api/movies/health',
    readyPath: '/api/movies/ready',
    isShuttingDown: deps.isShuttingDown,
    metrics,
  });
  if (config.DB_MIGRATE_ON_START) {
    // Runs after the wait for the database (hooks run in order). Returns nothing: Fastify would take a
    // value returned from an onReady hook for an error.
    app.addHook('onReady', async () => {
      await migrateSchema(config.DATABASE_URL, app.log);
    });
  }
  const movies = movieStore(db);
  movieReadRoute(app, movies);
  await app.register(forwardedWrites, {
    ownerUrl: config.MONOLITH_URL,
    ownerTimeoutMs: config.MONOLITH_TIMEOUT_MS,
    readableTimeoutMs: config.DATA_READ_YOUR_WRITE_TIMEOUT_MS,
    isReadable: movies.exists,
  });
  return app;
}
