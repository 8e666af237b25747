import { describeTarget, retryUntilReachable } from '@cinemaabyss/postgres';
import { ConfigError, loadConfig, StartupError } from '@cinemaabyss/service-kit';
import pg from 'pg';
import { pino } from 'pino';
import { configSchema } from './config.js';
import { migrateSchema } from './schema.js';

// `node dist/migrate.js`: applies pending migrations to the movies database, then exits (0 on success).
try {
  const config = loadConfig(configSchema);
  const log = pino({ level: config.LOG_LEVEL, base: { name: 'migrate' } });
  const target = describeTarget(config.DATABASE_URL);
  await retryUntilReachable(
    async () => {
      const client = new pg.Client({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 3000 });
      await client.connect();
      await client.end();
    },
    target,
    log,
    { attempts: config.DB_CONNECT_ATTEMPTS, initialDelayMs: 250, maxDelayMs: 5000 },
  );
  const applied = await migrateSchema(config.DATABASE_URL, log);
  log.info(
    { applied },
    applied.length ? `applied ${applied.length} migration(s) to ${target}` : `${target} is up to date`,
  );
} catch (error) {
  const known = error instanceof StartupError || error instanceof ConfigError;
  process.stderr.write(
    `Migration failed: ${known ? (error as Error).message : ((error as Error).stack ?? error)}\n`,
  );
  process.exitCode = 1;
}
