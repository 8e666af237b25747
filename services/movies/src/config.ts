import { databaseEnv } from '@cinemaabyss/postgres';
import { envBoolean, envPort, logLevel } from '@cinemaabyss/service-kit';
import { z } from 'zod';

const milliseconds = (min: number) =>
  z.coerce
    .number({ error: 'must be a whole number of milliseconds' })
    .int({ error: 'must be a whole number of milliseconds' })
    .min(min, { error: `must be a whole number of milliseconds, at least ${min}` });

/** The movies service's own database; it never reads the monolith's. */
export const MOVIES_DATABASE_URL = 'postgres://movies:movies@127.0.0.1:5432/movies';

export const configSchema = z.object({
  PORT: envPort.default(8081),
  ...databaseEnv,
  DATABASE_URL: databaseEnv.DATABASE_URL.unwrap().default(MOVIES_DATABASE_URL),
  /** Apply pending migrations of the movies database before serving. */
  DB_MIGRATE_ON_START: envBoolean.default(false),
  /**
   * The owner of the movie writes while the monolith holds them: POST /api/movies is handed to it, and
   * answered once the change is readable here (movies-sync applies it).
   */
  MONOLITH_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .default('http://127.0.0.1:8080'),
  /** Bound on one forwarded write, from sending it to the owner's last byte. */
  MONOLITH_TIMEOUT_MS: milliseconds(1).default(10_000),
  /** How long a forwarded write waits to become readable here before answering 504. */
  DATA_READ_YOUR_WRITE_TIMEOUT_MS: milliseconds(1).default(5_000),
  /** After SIGTERM, /ready fails for this long before the server closes, so load balancers stop sending. */
  SHUTDOWN_DELAY_MS: milliseconds(0).default(5_000),
  LOG_LEVEL: logLevel,
});

export type Config = z.infer<typeof configSchema>;
