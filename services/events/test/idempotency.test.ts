import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessedEvent } from '../src/recent.js';
import {
  kafkaClient,
  messageCounts,
  samples,
  startApp,
  stopApp,
  type TestApp,
  testConfig,
  waitFor,
  waitUntilReady,
} from './helpers.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const post = (service: TestApp, payload: object, key?: string) =>
  service.app.inject({
    method: 'POST',
    url: '/api/events/payment',
    payload,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });

const paymentCount = async (kafka: Kafka, service: TestApp) => {
  const topic = service.config.PAYMENT_EVENTS_TOPIC;
  return (await messageCounts(kafka, [topic]))[topic];
};

// Against the real broker (and, for several replicas, the stack's Redis): issue 22 item 3.
describe('Idempotency-Key, one replica (the window in memory)', () => {
  let service: TestApp;
  let kafka: Kafka;

  beforeAll(async () => {
    service = await startApp(testConfig());
    kafka = kafkaClient();
    await waitUntilReady(service.app);
  }, 60_000);

  afterAll(async () => {
    await stopApp(service);
  });

  it('answers a retry with the same event, and Kafka holds one message', async () => {
    const key = randomUUID();
    const first = await post(service, samples.payment, key);
    expect(first.statusCode).toBe(201);
    const again = await post(service, samples.payment, key);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // Five at once with a new key: one event for all of them.
    const other = randomUUID();
    const burst = await Promise.all(Array.from({ length: 5 }, () => post(service, samples.payment, other)));
    expect(burst.map((res) => res.statusCode)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(burst.map((res) => res.json().event.id)).size).toBe(1);
    expect(await paymentCount(kafka, service)).toBe(2);
    expect((await service.app.inject('/metrics')).body).toMatch(
      /^events_idempotent_replays_total\{type="payment"\} 5$/m,
    );
  });

  it('refuses the same key for another body with a 422, and a malformed key with a 400', async () => {
    const key = randomUUID();
    expect((await post(service, samples.payment, key)).statusCode).toBe(201);
    const changed = await post(service, { ...samples.payment, amount: 10 }, key);
    expect(changed.statusCode).toBe(422);
    expect(changed.json().error).toMatch(/^headers\.idempotency-key: already used for another event/);
    const malformed = await post(service, samples.payment, 'x'.repeat(256));
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toMatch(/^headers\.idempotency-key: /);
  });

  it('lets the consumer skip an event id it processed already, counted in metrics', async () => {
    const event = {
      id: `dup-${randomUUID()}`,
      type: 'payment',
      timestamp: new Date().toISOString(),
      payload: { ...samples.payment, payment_id: 4242 },
    };
    const marker = {
      ...event,
      id: `after-${randomUUID()}`,
    };
    const producer = kafka.producer();
    await producer.connect();
    try {
      // The same event twice, as a retry whose first attempt reached Kafka after all, then a marker.
      await producer.send({
        topic: service.config.PAYMENT_EVENTS_TOPIC,
        messages: [event, event, marker].map((e) => ({ key: '4242', value: JSON.stringify(e) })),
      });
    } finally {
      await producer.disconnect();
    }
    const recent = await waitFor('the marker processed', async () => {
      const events = (await service.app.inject('/api/events/recent?limit=500')).json()
        .events as ProcessedEvent[];
      return events.some((e) => e.id === marker.id) && events;
    });
    expect(recent.filter((e) => e.id === event.id)).toHaveLength(1);
    expect((await service.app.inject('/metrics')).body).toMatch(
      /^events_duplicates_skipped_total\{type="payment"\} 1$/m,
    );
  });
});

describe('Idempotency-Key across replicas (the window in Redis)', () => {
  let first: TestApp;
  let second: TestApp;
  let kafka: Kafka;

  beforeAll(async () => {
    const config = testConfig({ REDIS_URL: redisUrl, IDEMPOTENCY_WINDOW_MS: '60000' });
    first = await startApp(config);
    second = await startApp({ ...config });
    kafka = kafkaClient();
    await Promise.all([waitUntilReady(first.app), waitUntilReady(second.app)]);
  }, 60_000);

  afterAll(async () => {
    await second?.app.close();
    await stopApp(first);
  });

  it('gives a retry on another replica the same event, and Kafka holds one message', async () => {
    expect((await first.app.inject('/api/events/ready')).json()).toMatchObject({ idempotency: 'connected' });
    const key = randomUUID();
    const answers = await Promise.all([
      post(first, samples.payment, key),
      post(second, samples.payment, key),
      post(first, samples.payment, key),
      post(second, samples.payment, key),
    ]);
    expect(answers.map((res) => res.statusCode)).toEqual([201, 201, 201, 201]);
    expect(new Set(answers.map((res) => JSON.stringify(res.json()))).size).toBe(1);
    const later = await post(second, samples.payment, key);
    expect(later.json()).toEqual(answers[0]?.json());
    expect(await paymentCount(kafka, first)).toBe(1);
  });
});
