import { envPort, logLevel } from '@cinemaabyss/service-kit';
import { z } from 'zod';

const brokerList = z
  .string()
  .min(1)
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .pipe(z.array(z.string().regex(/^[\w.-]+:\d+$/, 'each broker must be host:port')).min(1));

export const configSchema = z.object({
  PORT: envPort.default(8082),
  KAFKA_BROKERS: brokerList.default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().min(1).default('cinemaabyss-events'),
  KAFKA_GROUP_ID: z.string().min(1).default('cinemaabyss-events'),
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(3),
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).default(1),
  MOVIE_EVENTS_TOPIC: z.string().min(1).default('movie-events'),
  USER_EVENTS_TOPIC: z.string().min(1).default('user-events'),
  PAYMENT_EVENTS_TOPIC: z.string().min(1).default('payment-events'),
  DLQ_TOPIC: z.string().min(1).default('events-dlq'),
  /** Upper bound on answering a POST: past it the client gets a 503, never a hanging request. */
  PUBLISH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** How many processed events GET /api/events/recent can show. */
  RECENT_EVENTS_CAPACITY: z.coerce.number().int().min(1).max(100_000).default(500),
  /** Time between failing readiness and closing on SIGTERM (see service-kit runService). */
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  LOG_LEVEL: logLevel,
});

export type Config = z.infer<typeof configSchema>;
