import { movieRoutes } from '@cinemaabyss/catalog';
import { createDatabase } from '@cinemaabyss/postgres';
import { errorHandling, fastifyOptions, type ServiceOptions } from '@cinemaabyss/service-kit';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';

export interface Deps {
  logger?: ServiceOptions['logger'];
  /** True once SIGTERM arrived: readiness fails so traffic drains before the server closes. */
  isShuttingDown?: () => boolean;
}

/**
 * The movies service extracted from the monolith. It serves the same movie tables with the same code
 * (@cinemaabyss/catalog) and never migrates: the schema belongs to the monolith's migrations.
 */
export async function buildApp(config: Config, deps: Deps = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions({ logLevel: config.LOG_LEVEL, logger: deps.logger }));
  const db = createDatabase(config.DATABASE_URL, app.log);

  app.addHook('onReady', () =>
    db.waitUntilReachable(app.log, {
      attempts: config.DB_CONNECT_ATTEMPTS,
      initialDelayMs: 250,
      maxDelayMs: 5000,
    }),
  );
  app.addHook('onClose', () => db.close());

  await app.register(errorHandling);
  // Liveness: the process serves HTTP (restarting it would not bring a lost database back).
  app.get('/api/movies/health', async () => ({ status: true }));
  // Readiness: only worth sending traffic when the database answers.
  app.get('/api/movies/ready', async (_request, reply) => {
    if (deps.isShuttingDown?.()) return reply.code(503).send({ status: false, error: 'shutting down' });
    if (!(await db.isReachable())) {
      return reply.code(503).send({ status: false, error: `database ${db.target} unreachable` });
    }
    return { status: true };
  });
  await app.register(movieRoutes, { db });
  return app;
}
