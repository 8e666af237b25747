import { migrateWhenReachable } from '@cinemaabyss/postgres';
import { ConfigError, describeError, loadConfig, StartupError } from '@cinemaabyss/service-kit';
import { pino } from 'pino';
import { configSchema } from './config.js';
import { migrateSchema } from './schema.js';

// `node dist/migrate.js`: applies pending migrations to the movies database, then exits (0 on success).
try {
  const config = loadConfig(configSchema);
  const log = pino({ level: config.LOG_LEVEL, base: { name: 'migrate' } });
  await migrateWhenReachable(
    { databaseUrl: config.DATABASE_URL, connectAttempts: config.DB_CONNECT_ATTEMPTS, log },
    migrateSchema,
  );
} catch (error) {
  const known = error instanceof StartupError || error instanceof ConfigError;
  // The operator's problems stand alone; anything else gets its stack too.
  const stack = !known && error instanceof Error ? `\n${error.stack}` : '';
  process.stderr.write(`Migration failed: ${known ? error.message : describeError(error)}${stack}\n`);
  process.exitCode = 1;
}
