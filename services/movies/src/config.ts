import { databaseEnv } from '@cinemaabyss/postgres';
import { envPort, logLevel, shutdownDelayMs } from '@cinemaabyss/service-kit';
import { z } from 'zod';

export const configSchema = z.object({
  PORT: envPort.default(8081),
  ...databaseEnv,
  SHUTDOWN_DELAY_MS: shutdownDelayMs(),
  LOG_LEVEL: logLevel,
});

export type Config = z.infer<typeof configSchema>;
