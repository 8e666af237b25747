import { databaseEnv } from '@cinemaabyss/postgres';
import { envPort, logLevel } from '@cinemaabyss/service-kit';
import { z } from 'zod';

export const configSchema = z.object({
  PORT: envPort.default(8081),
  ...databaseEnv,
  /** After SIGTERM, /ready fails for this long before the server closes, so load balancers stop sending. */
  SHUTDOWN_DELAY_MS: z.coerce
    .number({ error: 'must be a whole number of milliseconds' })
    .int({ error: 'must be a whole number of milliseconds' })
    .min(0, { error: 'must be a whole number of milliseconds' })
    .default(5_000),
  LOG_LEVEL: logLevel,
});

export type Config = z.infer<typeof configSchema>;
