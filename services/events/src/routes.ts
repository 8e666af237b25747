import { parseInput } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { eventTypes, payloadSchemas } from './events.js';
import type { EventBus } from './kafka/bus.js';
import { type Outcome, parseIdempotencyKey } from './publish.js';
import type { RecentEvents } from './recent.js';

interface RouteDeps {
  bus: EventBus;
  publish: (
    type: (typeof eventTypes)[number],
    payload: Record<string, unknown>,
    requestId: string,
    key: string | undefined,
  ) => Promise<Outcome>;
  recent: RecentEvents;
  /** Where the Idempotency-Key window lives, for /ready: memory, or Redis connected or not. */
  idempotency: () => 'memory' | 'connected' | 'disconnected';
  isShuttingDown: () => boolean;
}

export async function eventRoutes(
  app: FastifyInstance,
  { bus, publish, recent, idempotency, isShuttingDown }: RouteDeps,
) {
  app.get('/api/events/health', async () => ({ status: true }));

  // Redis is not part of readiness: only requests with an Idempotency-Key need it.
  app.get('/api/events/ready', async (_request, reply) => {
    const state = {
      producer: bus.isProducerConnected() ? 'connected' : 'disconnected',
      consumer: bus.isConsumerRunning() ? 'running' : 'stopped',
      idempotency: idempotency(),
    };
    if (isShuttingDown()) return reply.code(503).send({ status: 'shutting-down', ...state });
    if (!bus.isProducerConnected()) return reply.code(503).send({ status: 'not-ready', ...state });
    return { status: 'ready', ...state };
  });

  for (const type of eventTypes) {
    app.post(`/api/events/${type}`, async (request, reply) => {
      const payload = parseInput(payloadSchemas[type], request.body, 'body');
      const key = parseIdempotencyKey(request.headers['idempotency-key']);
      const outcome = await publish(type, payload, request.id, key);
      if (outcome.kind === 'unknown')
        return reply
          .code(503)
          .header('retry-after', '1')
          .send({
            error: `outcome unknown: ${outcome.message}; it may still be published. Retry with the same Idempotency-Key to get its outcome without a second event`,
            outcome: 'unknown',
            event_id: outcome.eventId,
          });
      if (outcome.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).send({
        status: 'success',
        partition: outcome.partition,
        offset: outcome.offset,
        event: outcome.event,
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
