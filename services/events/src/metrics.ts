import type { ServiceMetrics } from '@cinemaabyss/service-kit';
import { Counter, Gauge } from 'prom-client';
import { type EventType, eventTypes } from './events.js';
import type { PartitionLag } from './kafka/bus.js';

/**
 * The events' own metrics, on the service's registry (served on /metrics with the request metrics). Every
 * type's and topic's series exist from the start at 0: a rate or an alert sees the first event, not "no data".
 */
export function createMetrics(
  { registry }: ServiceMetrics,
  lag: () => PartitionLag[],
  topics: Record<EventType, string>,
  buffered: () => Record<string, number>,
) {
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name, help, labelNames, registers: [registry] });

  const metrics = {
    produced: counter('events_produced_total', 'Events acknowledged by Kafka, by type', ['type']),
    consumed: counter('events_consumed_total', 'Events read back and processed by the consumer, by type', [
      'type',
    ]),
    failed: counter('events_failed_total', 'Events that could not be published (answered 503), by type', [
      'type',
    ]),
    unknown: counter(
      'events_outcome_unknown_total',
      'Publishes Kafka did not confirm in time (answered 503, outcome unknown), by type',
      ['type'],
    ),
    replayed: counter(
      'events_idempotent_replays_total',
      'POSTs answered with the event their Idempotency-Key already stood for, by type',
      ['type'],
    ),
    duplicatesSkipped: counter(
      'events_duplicates_skipped_total',
      'Consumed events skipped because an event with the same id was processed already, by type',
      ['type'],
    ),
    deadLettered: counter('events_dead_lettered_total', 'Invalid messages moved to the dead-letter topic', [
      'topic',
    ]),
    deadLettersCut: counter(
      'events_dead_letters_cut_total',
      'Dead letters stored cut (original headers dropped, value shortened) to fit the dead-letter topic',
      ['topic'],
    ),
  };
  for (const type of eventTypes) {
    for (const counted of [
      metrics.produced,
      metrics.consumed,
      metrics.failed,
      metrics.unknown,
      metrics.replayed,
      metrics.duplicatesSkipped,
    ])
      counted.inc({ type }, 0);
    metrics.deadLettered.inc({ topic: topics[type] }, 0);
    metrics.deadLettersCut.inc({ topic: topics[type] }, 0);
  }
  new Gauge({
    name: 'events_consumer_lag',
    help: 'Messages not yet processed by the consumer group, per partition, as of its latest fetch',
    labelNames: ['topic', 'partition'],
    registers: [registry],
    collect() {
      for (const { topic, partition, lag: value } of lag())
        this.set({ topic, partition: String(partition) }, value);
    },
  });
  new Gauge({
    name: 'events_buffered_bytes',
    help: 'Bytes held in memory: events waiting for Kafka (producer), recent events (recent), processed ids (processed_ids), idempotency keys (idempotency_keys, without Redis)',
    labelNames: ['buffer'],
    registers: [registry],
    collect() {
      for (const [buffer, bytes] of Object.entries(buffered())) this.set({ buffer }, bytes);
    },
  });
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
