import { envBoolean, envPort, logLevel } from '@cinemaabyss/service-kit';
import { z } from 'zod';

export const configSchema = z.object({
  PORT: envPort.default(8080),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// connection URL' })
    .default('postgres://cinemaabyss:cinemaabyss@127.0.0.1:5432/cinemaabyss'),
  /** Apply pending schema migrations and the seed before serving. */
  DB_MIGRATE_ON_START: envBoolean.default(false),
  /** How many times start-up tries to reach the database (with doubling back-off, capped at 5 s) before giving up. */
  DB_CONNECT_ATTEMPTS: z.coerce
    .number({ error: 'must be a whole number from 1 to 100' })
    .int({ error: 'must be a whole number from 1 to 100' })
    .min(1, { error: 'must be a whole number from 1 to 100' })
    .max(100, { error: 'must be a whole number from 1 to 100' })
    .default(10),
  /** After SIGTERM, /ready fails for this long before the server closes, so load balancers stop sending. */
  SHUTDOWN_DELAY_MS: z.coerce
    .number({ error: 'must be a whole number of milliseconds' })
    .int({ error: 'must be a whole number of milliseconds' })
    .min(0, { error: 'must be a whole number of milliseconds' })
    .default(5_000),
  LOG_LEVEL: logLevel,
});

export type Config = z.infer<typeof configSchema>;
