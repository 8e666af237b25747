import { type AppDeps, errorHandling, fastifyOptions, serviceMetrics } from '@cinemaabyss/service-kit';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { ProcessedIds } from './dedupe.js';
import { type EventType, eventTypes, topicsFromConfig } from './events.js';
import { MemoryIdempotencyStore, RedisIdempotencyStore } from './idempotency.js';
import { EventBus } from './kafka/bus.js';
import { createMetrics } from './metrics.js';
import { createProcessor } from './processor.js';
import { createPublisher } from './publish.js';
import { RecentEvents } from './recent.js';
import { eventRoutes } from './routes.js';

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions({ logLevel: config.LOG_LEVEL, logger: deps.logger }));
  await app.register(errorHandling);

  const topics = topicsFromConfig(config);
  const eventTopics = eventTypes.map((type) => topics[type]);
  const bus = new EventBus({
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID,
    groupId: config.KAFKA_GROUP_ID,
    topics: [...eventTopics, config.DLQ_TOPIC],
    consumeTopics: eventTopics,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
    maxMessageBytes: config.KAFKA_MAX_MESSAGE_BYTES,
    maxBufferedBytes: config.PRODUCER_BUFFER_MAX_BYTES,
    log: app.log,
  });
  const recent = new RecentEvents(config.RECENT_EVENTS_CAPACITY, config.RECENT_EVENTS_MAX_BYTES);
  const processed = new ProcessedIds(config.PROCESSED_IDS_MAX_BYTES);
  const store = config.REDIS_URL
    ? new RedisIdempotencyStore(config.REDIS_URL, config.IDEMPOTENCY_WINDOW_MS)
    : new MemoryIdempotencyStore(config.IDEMPOTENCY_WINDOW_MS, config.IDEMPOTENCY_MAX_BYTES);
  const metrics = createMetrics(
    serviceMetrics(app, 'events'),
    () => bus.lag(),
    topics,
    () => ({
      producer: bus.bufferedBytes(),
      recent: recent.size(),
      processed_ids: processed.size(),
      ...(store instanceof MemoryIdempotencyStore && { idempotency_keys: store.size() }),
    }),
  );
  const processor = createProcessor({
    typeByTopic: new Map(eventTypes.map((type): [string, EventType] => [topics[type], type])),
    dlqTopic: config.DLQ_TOPIC,
    bus,
    recent,
    processed,
    metrics,
    log: app.log.child({ component: 'consumer' }),
  });
  const publish = createPublisher({
    bus,
    topics,
    metrics,
    limits: { maxEventBytes: config.EVENT_MAX_BYTES, maxStringBytes: config.EVENT_MAX_STRING_BYTES },
    store,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
    log: app.log,
  });

  // Connecting never blocks start-up: with the broker down the service runs, unready, and answers 503.
  app.addHook('onReady', async () => bus.start(processor));
  app.addHook('onClose', async () => {
    await bus.close();
    await store.close();
  });

  await eventRoutes(app, {
    bus,
    publish,
    recent,
    idempotency: () =>
      store instanceof RedisIdempotencyStore
        ? store.isConnected()
          ? 'connected'
          : 'disconnected'
        : 'memory',
    isShuttingDown: deps.isShuttingDown ?? (() => false),
  });
  return app;
}
