import { createDatabase, type Database } from '@cinemaabyss/postgres';
import type { ServiceMetrics } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { monolithAggregates, moviesAggregates } from '../parity/aggregates.js';
import { ParityChecker } from '../parity/checker.js';
import type { Clock } from '../parity/row-budget.js';
import { type ConnectorState, probeConnector } from './connector.js';
import { CONNECTOR_NAME, databaseName, type Lag, REPLICATION_SLOT, statusDocument } from './document.js';
import type { ParityConfig } from './env.js';
import { dataMetrics } from './metrics.js';
import { StatusPublisher } from './publisher.js';
import { retainedWalBytes } from './wal.js';

/** A status document outlives 15 missed writes: a dead process's status goes away instead of going stale. */
const STATUS_TTL_MS = 30_000;

/** What movies-sync hands its plugins (its SyncPluginOptions), and its metrics. */
export interface DataStatusOptions {
  /** The process's config, `parityEnv` spread into it. */
  config: ParityConfig;
  /** The movies database, as the applier writes it (its pool is shared, one connection at a time). */
  db: Database;
  /** The applier's replication lag. */
  lag: Lag;
  /** The process's registry (serviceMetrics); the data metrics take its prefix. */
  metrics: ServiceMetrics;
  /** The data domain; its status key is `cinemaabyss:data:<domain>`. Tests use one of their own. */
  domain?: string;
  clock?: Clock;
}

/**
 * The data status of the movies domain, for a process that may read both databases (movies-sync): a parity
 * checker (full passes every PARITY_INTERVAL_MS and on each message on `cinemaabyss:data:movies:verify`)
 * and the status document in Redis (`cinemaabyss:data:movies`, rewritten every DATA_STATUS_INTERVAL_MS),
 * with its metrics. Everything starts when the app is ready and stops when it closes.
 */
export async function dataStatus(app: FastifyInstance, options: DataStatusOptions): Promise<void> {
  const { config, db: target, lag, metrics, domain = 'movies' } = options;
  const log = app.log.child({ component: 'data-status' });
  // Reads only: two connections (a chunk reads both sides at once, one per side), and a statement timeout
  // well above a chunk's cost, so a stuck query fails the pass instead of hanging it.
  const source = createDatabase(config.SOURCE_DATABASE_URL, log, { max: 2, statementTimeoutMs: 30_000 });
  // Names only in the status, never URLs: Database.target is `host:port/name`.
  const sourceDatabase = databaseName(config.SOURCE_DATABASE_URL);
  const targetDatabase = target.target.slice(target.target.lastIndexOf('/') + 1);
  let connector: ConnectorState | undefined;
  let walBytes: number | null = null;

  const checker = new ParityChecker({
    source: monolithAggregates(source),
    target: moviesAggregates(target),
    chunkSize: config.PARITY_CHUNK_SIZE,
    rowsPerSecond: config.PARITY_ROWS_PER_SECOND,
    intervalMs: config.PARITY_INTERVAL_MS,
    lagMs: () => worstLag(lag),
    recheckMarginMs: config.PARITY_RECHECK_MARGIN_MS,
    maxRecheckDelayMs: config.PARITY_MAX_RECHECK_DELAY_MS,
    sampleSize: config.PARITY_SAMPLE_SIZE,
    log,
    ...(options.clock && { clock: options.clock }),
    onReport: (report) => {
      countPass(report.state);
      void publisher.publish();
    },
    onFailure: () => countPass('failed'),
  });
  const countPass = dataMetrics(metrics, () => ({
    parity: checker.lastReport,
    connector,
    retainedWalBytes: walBytes,
  }));

  const build = async () => {
    const [probe, bytes] = await Promise.all([
      probeConnector(config.CONNECT_URL, CONNECTOR_NAME, config.CONNECT_TIMEOUT_MS),
      retainedWalBytes(source, REPLICATION_SLOT).catch((error: unknown) => {
        log.debug({ err: error }, 'data status: could not read the replication slot');
        return null;
      }),
    ]);
    if (probe.state !== connector)
      log[probe.state === 'RUNNING' ? 'info' : 'warn'](
        { connector: CONNECTOR_NAME, state: probe.state, reason: probe.reason },
        `connector ${CONNECTOR_NAME} is ${probe.state}`,
      );
    connector = probe.state;
    walBytes = bytes;
    return statusDocument({
      domain,
      sourceDatabase,
      targetDatabase,
      connector: probe.state,
      lag: { lagMs: lag.lagMs(), lagP99Ms: lag.lagP99Ms() },
      retainedWalBytes: bytes,
      parity: checker.lastReport,
      now: new Date(),
    });
  };
  const publisher = new StatusPublisher({
    redisUrl: config.REDIS_URL,
    domain,
    intervalMs: config.DATA_STATUS_INTERVAL_MS,
    ttlMs: STATUS_TTL_MS,
    build,
    onVerify: (request) =>
      void checker.requestPass(`verify${request.by ? ` by ${request.by}` : ''}`).catch(() => {}),
    log,
  });

  app.addHook('onReady', async () => {
    publisher.start();
    checker.start();
  });
  app.addHook('onClose', async () => {
    await checker.stop();
    await publisher.close();
    await source.close();
  });
}

/** The lag a change in flight may take: the worse of the current lag and its recent p99. */
function worstLag(lag: Lag): number | null {
  const [now, p99] = [lag.lagMs(), lag.lagP99Ms()];
  if (now === null && p99 === null) return null;
  return Math.max(now ?? 0, p99 ?? 0);
}
