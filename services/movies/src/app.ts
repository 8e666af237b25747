import { movieRoutes } from '@cinemaabyss/catalog';
import { serviceDatabase } from '@cinemaabyss/postgres';
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
  await app.register(errorHandling);
  const db = serviceDatabase(app, {
    url: config.DATABASE_URL,
    connectAttempts: config.DB_CONNECT_ATTEMPTS,
    healthPath: '/api/movies/health',
    readyPath: '/api/movies/ready',
    isShuttingDown: deps.isShuttingDown,
  });
  await app.register(movieRoutes, { db });
  return app;
}
