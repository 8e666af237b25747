import { createDatabase, type Database } from '@cinemaabyss/postgres';
import { type AppDeps, errorHandling, fastifyOptions, serviceMetrics } from '@cinemaabyss/service-kit';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { SyncConfig } from './config.js';
import { ChangeStream } from './kafka.js';
import { type Lag, LagTracker } from './lag.js';
import { syncMetrics } from './metrics.js';
import { ChangeProcessor } from './processor.js';

/** What a plugin of movies-sync gets (the data status publisher, the parity checker). */
export interface SyncPluginOptions {
  config: SyncConfig;
  /** The movies database, as movies-sync writes it. */
  db: Database;
  lag: Lag;
}

export interface SyncDeps extends AppDeps {
  /** Registered after the applier is built, e.g. the status publisher and parity checker of issue 27. */
  plugins?: FastifyPluginAsync<SyncPluginOptions>[];
}

/**
 * movies-sync: consumes the monolith's change stream (Debezium, one ordered topic) and applies it to the
 * movies database. Serves /health, /ready (database reachable and consumer in its group) and /metrics;
 * never listens itself.
 */
export async function buildSyncApp(config: SyncConfig, deps: SyncDeps = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions({ logLevel: config.LOG_LEVEL, logger: deps.logger }));
  await app.register(errorHandling);
  const registry = serviceMetrics(app, 'movies_sync');
  // The rebuild at the end of a snapshot is one statement over every movie: far longer than a request's.
  const db = createDatabase(config.DATABASE_URL, app.log, {
    metrics: registry,
    max: 4,
    statementTimeoutMs: 10 * 60_000,
  });
  const lag = new LagTracker(config.SYNC_HEARTBEAT_INTERVAL_MS);
  const metrics = syncMetrics(registry, lag);
  const processor = new ChangeProcessor({
    pool: db.pool,
    lag,
    metrics,
    log: app.log,
    snapshotBatch: config.SYNC_SNAPSHOT_BATCH,
  });
  const stream = new ChangeStream({
    brokers: config.KAFKA_BROKERS,
    topic: config.SYNC_TOPIC,
    groupId: config.SYNC_GROUP_ID,
    log: app.log,
    committed: (offset) => metrics.committed(offset),
    interrupted: () => processor.reset(),
  });

  app.get('/health', async () => ({ status: true }));
  app.get('/ready', async (_request, reply) => {
    if (deps.isShuttingDown?.()) return reply.code(503).send({ status: false, error: 'shutting down' });
    if (!(await db.isReachable())) {
      return reply.code(503).send({ status: false, error: `database ${db.target} unreachable` });
    }
    if (!stream.isRunning()) {
      return reply.code(503).send({ status: false, error: `not consuming ${config.SYNC_TOPIC} yet` });
    }
    return { status: true };
  });

  // The status publisher and the parity checker (issue 27) plug in here (plugins.ts) and read `lag` and `db`.
  for (const plugin of deps.plugins ?? []) await app.register(plugin, { config, db, lag });

  app.addHook('onReady', async () => {
    await db.waitUntilReachable(app.log, {
      attempts: config.DB_CONNECT_ATTEMPTS,
      initialDelayMs: 250,
      maxDelayMs: 5_000,
    });
    stream.start((messages, keepAlive) => processor.process(messages, keepAlive));
  });
  app.addHook('onClose', async () => {
    await stream.stop();
    await db.close();
  });
  return app;
}
