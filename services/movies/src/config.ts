import { envPort, logLevel } from '@cinemaabyss/service-kit';
import { z } from 'zod';

export const configSchema = z.object({
  PORT: envPort.default(8081),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// connection URL' })
    .default('postgres://cinemaabyss:cinemaabyss@127.0.0.1:5432/cinemaabyss'),
  LOG_LEVEL: logLevel,
});

export type Config = z.infer<typeof configSchema>;
