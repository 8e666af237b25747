import { envPort, logLevel, shutdownDelayMs } from '@cinemaabyss/service-kit';
import { z } from 'zod';

const brokerList = z
  .string()
  .min(1)
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .pipe(z.array(z.string().regex(/^[\w.-]+:\d+$/, 'each broker must be host:port')).min(1));

const bytes = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const KiB = 1024;
const MiB = 1024 * KiB;

/** Room in one Kafka record beside the event: key, headers (request id, type, dead-letter reasons), framing. */
export const RECORD_HEADROOM_BYTES = 16 * KiB;

export const configSchema = z
  .object({
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
    /** ...and how many bytes of them (their JSON size): the oldest go first when either bound is reached. */
    RECENT_EVENTS_MAX_BYTES: bytes(64 * KiB, 256 * MiB).default(4 * MiB),
    /**
     * The topics' max.message.bytes (Kafka's default). Events, batches and dead letters are kept below it; a
     * smaller value found on the topics at start wins.
     */
    KAFKA_MAX_MESSAGE_BYTES: bytes(64 * KiB, 64 * MiB).default(1_048_588),
    /** Largest event (its JSON as published) a POST may create; larger is a 413. */
    EVENT_MAX_BYTES: bytes(1 * KiB, 64 * MiB).default(256 * KiB),
    /** Largest string in an event's payload; larger is a 413 naming the field. */
    EVENT_MAX_STRING_BYTES: bytes(64, 64 * MiB).default(64 * KiB),
    /** Bytes of events waiting for or in a send to Kafka; past it a POST gets 503 with Retry-After. */
    PRODUCER_BUFFER_MAX_BYTES: bytes(64 * KiB, 1024 * MiB).default(16 * MiB),
    /**
     * Redis shared by the replicas for the Idempotency-Key window. Without it each replica keeps its own
     * window in memory, which is enough for one replica only.
     */
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
    /** How long a retry with the same Idempotency-Key yields the same event. */
    IDEMPOTENCY_WINDOW_MS: z.coerce
      .number()
      .int()
      .min(1_000)
      .max(7 * 24 * 3_600_000)
      .default(3_600_000),
    /** Memory for the window when it is kept in the process (no REDIS_URL); the oldest keys go first. */
    IDEMPOTENCY_MAX_BYTES: bytes(64 * KiB, 1024 * MiB).default(8 * MiB),
    /** Memory for the ids of processed events the consumer recognises as duplicates; the oldest go first. */
    PROCESSED_IDS_MAX_BYTES: bytes(64 * KiB, 1024 * MiB).default(2 * MiB),
    /** Time between failing readiness and closing on SIGTERM (see service-kit runService). */
    SHUTDOWN_DELAY_MS: shutdownDelayMs(0),
    LOG_LEVEL: logLevel,
  })
  .superRefine((config, ctx) => {
    const room = config.KAFKA_MAX_MESSAGE_BYTES - RECORD_HEADROOM_BYTES;
    if (config.EVENT_MAX_BYTES > room)
      ctx.addIssue({
        code: 'custom',
        path: ['EVENT_MAX_BYTES'],
        message: `must leave ${RECORD_HEADROOM_BYTES} bytes of KAFKA_MAX_MESSAGE_BYTES (${config.KAFKA_MAX_MESSAGE_BYTES}) for headers: at most ${room}`,
      });
    if (config.EVENT_MAX_STRING_BYTES > config.EVENT_MAX_BYTES)
      ctx.addIssue({
        code: 'custom',
        path: ['EVENT_MAX_STRING_BYTES'],
        message: `must not exceed EVENT_MAX_BYTES (${config.EVENT_MAX_BYTES})`,
      });
    if (config.PRODUCER_BUFFER_MAX_BYTES < config.EVENT_MAX_BYTES + RECORD_HEADROOM_BYTES)
      ctx.addIssue({
        code: 'custom',
        path: ['PRODUCER_BUFFER_MAX_BYTES'],
        message: `must hold at least one event: EVENT_MAX_BYTES (${config.EVENT_MAX_BYTES}) + ${RECORD_HEADROOM_BYTES}`,
      });
  });

export type Config = z.infer<typeof configSchema>;
