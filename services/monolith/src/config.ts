import { databaseEnv } from '@cinemaabyss/postgres';
import { envBoolean, envPort, logLevel, shutdownDelayMs } from '@cinemaabyss/service-kit';
import { z } from 'zod';

export const configSchema = z.object({
  PORT: envPort.default(8080),
  ...databaseEnv,
  /** Apply pending schema migrations and the seed before serving. */
  DB_MIGRATE_ON_START: envBoolean.default(false),
  SHUTDOWN_DELAY_MS: shutdownDelayMs(),
  LOG_LEVEL: logLevel,
});

export type Config = z.infer<typeof configSchema>;
