import { randomUUID } from 'node:crypto';
import { HttpError, parseInput } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type EventEnvelope, entityKey, eventTypes, payloadSchemas } from './events.js';
import { BufferFullError, type EventBus, KafkaUnavailableError, RecordTooLargeError } from './kafka/bus.js';
import { checkEventSize, checkPayloadStrings, type EventLimits } from './limits.js';
import type { Metrics } from './metrics.js';
import type { RecentEvents } from './recent.js';

interface RouteDeps {
  bus: EventBus;
  topics: Record<(typeof eventTypes)[number], string>;
  metrics: Metrics;
  recent: RecentEvents;
  limits: EventLimits;
  isShuttingDown: () => boolean;
}

export async function eventRoutes(
  app: FastifyInstance,
  { bus, topics, metrics, recent, limits, isShuttingDown }: RouteDeps,
) {
  app.get('/api/events/health', async () => ({ status: true }));

  app.get('/api/events/ready', async (_request, reply) => {
    const state = {
      producer: bus.isProducerConnected() ? 'connected' : 'disconnected',
      consumer: bus.isConsumerRunning() ? 'running' : 'stopped',
    };
    if (isShuttingDown()) return reply.code(503).send({ status: 'shutting-down', ...state });
    if (!bus.isProducerConnected()) return reply.code(503).send({ status: 'not-ready', ...state });
    return { status: 'ready', ...state };
  });

  for (const type of eventTypes) {
    app.post(`/api/events/${type}`, async (request, reply) => {
      const payload = parseInput(payloadSchemas[type], request.body, 'body');
      checkPayloadStrings(payload, limits);
      const event: EventEnvelope = { id: randomUUID(), type, timestamp: new Date().toISOString(), payload };
      const json = JSON.stringify(event);
      checkEventSize(json, payload, limits);
      let published: Awaited<ReturnType<EventBus['publish']>>;
      try {
        published = await bus.publish(topics[type], entityKey(type, payload), json, {
          'x-request-id': request.id,
          'event-type': type,
        });
      } catch (error) {
        if (error instanceof RecordTooLargeError)
          throw new HttpError(413, `event: refused by Kafka as too large (${error.message})`);
        if (error instanceof BufferFullError) {
          metrics.failed.inc({ type });
          reply.header('retry-after', '1');
          throw new HttpError(503, `Kafka is behind, event not published: ${error.message}; retry shortly`);
        }
        if (!(error instanceof KafkaUnavailableError)) throw error;
        metrics.failed.inc({ type });
        throw new HttpError(503, `Kafka unavailable, event not published: ${error.message}`);
      }
      metrics.produced.inc({ type });
      return reply.code(201).send({
        status: 'success',
        partition: published.partition,
        offset: Number(published.offset),
        event,
      });
    });
  }

  const recentQuery = z.object({
    type: z.enum(eventTypes).optional(),
    limit: z.coerce.number().int().min(1).max(recent.capacity).default(20),
  });
  app.get('/api/events/recent', async (request) => {
    const { type, limit } = parseInput(recentQuery, request.query, 'query');
    return { events: recent.latest(limit, type) };
  });
}
