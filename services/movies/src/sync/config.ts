import { databaseEnv } from '@cinemaabyss/postgres';
import { envPort, logLevel } from '@cinemaabyss/service-kit';
import { z } from 'zod';
import { MOVIES_DATABASE_URL } from '../config.js';

const whole = (what: string, min: number) =>
  z.coerce
    .number({ error: `must be a whole number of ${what}` })
    .int({ error: `must be a whole number of ${what}` })
    .min(min, { error: `must be a whole number of ${what}, at least ${min}` });

/** movies-sync: the applier that keeps the movies database in step with the monolith's movie tables. */
export const configSchema = z.object({
  PORT: envPort.default(8084),
  ...databaseEnv,
  /** The movies database it writes (the one the movies service reads). */
  DATABASE_URL: databaseEnv.DATABASE_URL.unwrap().default(MOVIES_DATABASE_URL),
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((value) =>
      value
        .split(',')
        .map((broker) => broker.trim())
        .filter(Boolean),
    )
    .refine((brokers) => brokers.length > 0, { error: 'must list at least one host:port' }),
  /** The connector's one ordered topic: every captured table and the transaction markers. */
  SYNC_TOPIC: z.string().min(1).default('cinemaabyss.movies.cdc'),
  SYNC_GROUP_ID: z.string().min(1).default('movies-sync'),
  /** Snapshot reads applied per transaction of the movies database. */
  SYNC_SNAPSHOT_BATCH: whole('rows', 1).max(50_000).default(2_000),
  /** The connector's heartbeat.interval.ms: silence beyond it counts as lag. */
  SYNC_HEARTBEAT_INTERVAL_MS: whole('milliseconds', 1).default(1_000),
  /** After SIGTERM, /ready fails for this long before the process stops consuming and exits. */
  SHUTDOWN_DELAY_MS: whole('milliseconds', 0).default(1_000),
  LOG_LEVEL: logLevel,
});

export type SyncConfig = z.infer<typeof configSchema>;
