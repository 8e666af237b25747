import { envBoolean, envPort, logLevel } from '@cinemaabyss/service-kit';
import { z } from 'zod';

export const configSchema = z.object({
  PORT: envPort.default(8080),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// connection URL' })
    .default('postgres://cinemaabyss:cinemaabyss@127.0.0.1:5432/cinemaabyss'),
  /** Apply pending schema migrations and the seed before serving. */
  DB_MIGRATE_ON_START: envBoolean.default(false),
  LOG_LEVEL: logLevel,
});

export type Config = z.infer<typeof configSchema>;
