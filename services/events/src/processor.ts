import type { FastifyBaseLogger } from 'fastify';
import { deadLetter } from './dead-letter.js';
import type { ProcessedIds } from './dedupe.js';
import { decodeEvent, type EventType } from './events.js';
import { type ConsumedMessage, type EventBus, RecordTooLargeError } from './kafka/bus.js';
import type { Metrics } from './metrics.js';
import type { RecentEvents } from './recent.js';

interface ProcessorDeps {
  typeByTopic: Map<string, EventType>;
  dlqTopic: string;
  bus: EventBus;
  recent: RecentEvents;
  processed: ProcessedIds;
  metrics: Metrics;
  log: FastifyBaseLogger;
}

/**
 * Handles one consumed message: a valid event is logged and recorded, once per event id; an invalid one
 * is moved to the dead-letter topic with the reason in its headers (cut to fit when too large), so one
 * poison message never stops a partition. Throwing (the dead-letter topic unreachable) leaves the offset
 * uncommitted, so it is retried.
 */
export function createProcessor({
  typeByTopic,
  dlqTopic,
  bus,
  recent,
  processed,
  metrics,
  log,
}: ProcessorDeps) {
  return async (message: ConsumedMessage): Promise<void> => {
    const where = { topic: message.topic, partition: message.partition, offset: message.offset };
    const type = typeByTopic.get(message.topic);
    const decoded = type ? decodeEvent(type, message.value) : { ok: false as const, reason: 'unknown topic' };
    if (!decoded.ok) {
      const letter = deadLetter(message, decoded.reason, bus.maxRecordBytes());
      try {
        await bus.publish(dlqTopic, letter.key, letter.value, letter.headers);
      } catch (error) {
        // The topic takes less than it said when the service connected: store where it came from, and why.
        if (!(error instanceof RecordTooLargeError)) throw error;
        letter.cut = true;
        letter.headers['x-dlq-cut'] = 'headers,value';
        letter.headers['x-dlq-value-bytes'] = String(message.value?.length ?? 0);
        await bus.publish(dlqTopic, null, null, letter.headers).catch((again: unknown) => {
          if (!(again instanceof RecordTooLargeError)) throw again;
          log.error({ ...where, reason: decoded.reason }, 'dead letter refused even empty; skipped');
        });
      }
      metrics.deadLettered.inc({ topic: message.topic });
      if (letter.cut) metrics.deadLettersCut.inc({ topic: message.topic });
      log.warn(
        { ...where, reason: decoded.reason, cut: letter.cut },
        'invalid event moved to the dead-letter topic',
      );
      return;
    }
    const { event } = decoded;
    // A retried publish whose first attempt reached Kafka after all, or a redelivery: processed once.
    if (processed.seen(event.id)) {
      metrics.duplicatesSkipped.inc({ type: event.type });
      log.info({ type: event.type, id: event.id, ...where }, 'duplicate event skipped');
      return;
    }
    const processedAt = Date.now();
    recent.add(
      {
        ...event,
        ...where,
        processed_at: new Date(processedAt).toISOString(),
        produce_to_consume_ms: processedAt - message.timestamp,
      },
      message.value?.length,
    );
    metrics.consumed.inc({ type: event.type });
    log.info({ type: event.type, id: event.id, ...where }, 'event processed');
  };
}
