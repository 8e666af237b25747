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

/**
 * The movies service extracted from the monolith. It serves the same movie tables with the same code
 * (@cinemaabyss/catalog) and never migrates: the schema belongs to the monolith's migrations.
 */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions({ logLevel: config.LOG_LEVEL, logger: deps.logger }));
  await app.register(errorHandling);
  const metrics = serviceMetrics(app, 'movies');
  // Bodies are read as the original system read them, whatever their Content-Type says.
  await app.register(legacyJsonBody);
  const db = serviceDatabase(app, {
    url: config.DATABASE_URL,
    connectAttempts: config.DB_CONNECT_ATTEMPTS,
    healthPath: '/api/movies/health',
    readyPath: '/api/movies/ready',
    isShuttingDown: deps.isShuttingDown,
    metrics,
  });
  await app.register(movieRoutes, { db });
  return app;
}
