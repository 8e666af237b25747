import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpError } from '@cinemaabyss/service-kit';
import type { FastifyBaseLogger } from 'fastify';
import { type EventEnvelope, type EventType, entityKey } from './events.js';
import { fingerprint, type IdempotencyStore, type KeyRecord, StoreUnavailableError } from './idempotency.js';
import {
  BufferFullError,
  type EventBus,
  KafkaUnavailableError,
  OutcomeUnknownError,
  RecordTooLargeError,
} from './kafka/bus.js';
import { checkEventSize, checkPayloadStrings, type EventLimits } from './limits.js';
import type { Metrics } from './metrics.js';

export interface PublisherDeps {
  bus: EventBus;
  topics: Record<EventType, string>;
  metrics: Metrics;
  limits: EventLimits;
  store: IdempotencyStore;
  publishTimeoutMs: number;
  log: FastifyBaseLogger;
}

/** What a POST answers: the event created (or created before, for a retried key), or an unknown outcome. */
export type Outcome =
  | { kind: 'created'; replayed: boolean; partition: number; offset: number; event: EventEnvelope }
  | { kind: 'unknown'; eventId: string; message: string };

// A pending key older than this is taken as failed: longer than any send lasts (the producer gives up after
// its bounded retries well within it), so only a replica that died mid-send leaves one behind.
const pendingLeaseMs = 60_000;
const pollMs = 50;

/** An Idempotency-Key as clients send them (a UUID, say): 1 to 255 printable ASCII characters. */
const KEY = /^[\x21-\x7e]{1,255}$/;

export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !KEY.test(header))
    throw new HttpError(
      400,
      'headers.idempotency-key: must be 1 to 255 printable ASCII characters, sent once',
    );
  return header;
}

/**
 * Publishing one event, from the checked payload to the answer: the size limits, the Idempotency-Key
 * window, and an honest outcome when Kafka did not answer in time.
 */
export function createPublisher({
  bus,
  topics,
  metrics,
  limits,
  store,
  publishTimeoutMs,
  log,
}: PublisherDeps) {
  const created = (
    record: KeyRecord,
    type: EventType,
    payload: EventEnvelope['payload'],
    replayed: boolean,
  ) =>
    ({
      kind: 'created',
      replayed,
      partition: record.partition ?? -1,
      offset: Number(record.offset),
      event: { id: record.eventId, type, timestamp: record.timestamp, payload },
    }) as const;

  const settle = (key: string, from: KeyRecord, to: KeyRecord) =>
    store.replace(key, from, to).catch((error: unknown) => {
      log.warn(
        { err: error, eventId: from.eventId },
        'could not record the outcome of an idempotent publish',
      );
      return false;
    });

  /** The record to publish under, or the answer when the key already stands for an event. */
  async function claim(
    key: string,
    fresh: KeyRecord,
    type: EventType,
    payload: EventEnvelope['payload'],
  ): Promise<{ record: KeyRecord } | { answer: Outcome }> {
    const deadline = Date.now() + publishTimeoutMs;
    for (;;) {
      const existing = await store.claim(key, fresh);
      if (!existing) return { record: fresh };
      if (existing.fingerprint !== fresh.fingerprint)
        throw new HttpError(
          422,
          'headers.idempotency-key: already used for another event (another type or body)',
        );
      if (existing.state === 'published') return { answer: created(existing, type, payload, true) };
      if (existing.state === 'failed' || Date.now() - existing.since > pendingLeaseMs) {
        // Not published (or its send failed): publish it now, under the same event id.
        const retake: KeyRecord = { ...existing, state: 'pending', since: Date.now() };
        if (await store.replace(key, existing, retake)) return { record: retake };
        continue;
      }
      // Another request's send may still be acknowledged: wait for it, within the same bound as a publish.
      if (Date.now() >= deadline)
        return {
          answer: {
            kind: 'unknown',
            eventId: existing.eventId,
            message: `a request with this Idempotency-Key is still being published as event ${existing.eventId}`,
          },
        };
      await sleep(pollMs);
    }
  }

  return async function publish(
    type: EventType,
    payload: EventEnvelope['payload'],
    requestId: string,
    key: string | undefined,
  ): Promise<Outcome> {
    checkPayloadStrings(payload, limits);
    let record: KeyRecord = {
      eventId: randomUUID(),
      timestamp: new Date().toISOString(),
      fingerprint: key ? fingerprint(type, payload) : '',
      state: 'pending',
      since: Date.now(),
    };
    const eventOf = ({ eventId, timestamp }: KeyRecord): EventEnvelope => ({
      id: eventId,
      type,
      timestamp,
      payload,
    });
    // Before the key is claimed, so an event that can never be published leaves no pending key behind.
    let event = eventOf(record);
    let json = JSON.stringify(event);
    checkEventSize(json, payload, limits);
    if (key) {
      const claimed = await claim(key, record, type, payload).catch(unavailable);
      if ('answer' in claimed) {
        if (claimed.answer.kind === 'created') metrics.replayed.inc({ type });
        return claimed.answer;
      }
      if (claimed.record !== record) {
        // A retry of an event not published yet: its id and time, same length, so the same size.
        record = claimed.record;
        event = eventOf(record);
        json = JSON.stringify(event);
      }
    }
    try {
      const published = await bus.publish(topics[type], entityKey(type, payload), json, {
        'x-request-id': requestId,
        'event-type': type,
      });
      metrics.produced.inc({ type });
      const done: KeyRecord = { ...record, state: 'published', ...published };
      if (key) await settle(key, record, done);
      return created(done, type, payload, false);
    } catch (error) {
      if (error instanceof OutcomeUnknownError) {
        metrics.unknown.inc({ type });
        // The key stays pending until the send settles; a retry meanwhile waits for it.
        if (key)
          error.late.then(
            (published) => settle(key, record, { ...record, state: 'published', ...published }),
            () => settle(key, record, { ...record, state: 'failed' }),
          );
        return {
          kind: 'unknown',
          eventId: event.id,
          message: `Kafka did not confirm event ${event.id}: ${error.message}`,
        };
      }
      if (key) await settle(key, record, { ...record, state: 'failed' });
      if (error instanceof RecordTooLargeError)
        throw new HttpError(413, `event: refused by Kafka as too large (${error.message})`);
      if (error instanceof BufferFullError) {
        metrics.failed.inc({ type });
        throw new HttpError(503, `Kafka is behind, event not published: ${error.message}; retry shortly`);
      }
      if (!(error instanceof KafkaUnavailableError)) throw error;
      metrics.failed.inc({ type });
      throw new HttpError(503, `Kafka unavailable, event not published: ${error.message}`);
    }
  };
}

function unavailable(error: unknown): never {
  if (error instanceof StoreUnavailableError)
    throw new HttpError(
      503,
      `the Idempotency-Key window is unavailable, event not published: ${error.message}`,
    );
  throw error;
}
