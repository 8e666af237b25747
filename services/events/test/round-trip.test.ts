import { assertMatchesResponse } from '@cinemaabyss/contract';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessedEvent } from '../src/recent.js';
import {
  kafkaClient,
  messageCounts,
  recentIds,
  samples,
  startApp,
  stopApp,
  type TestApp,
  testConfig,
  waitFor,
  waitUntilReady,
} from './helpers.js';

// Against the real broker (tools/kafka/kafka.sh start), on topics of this file's own.
describe('events service round trip through Kafka', () => {
  let service: TestApp;
  let kafka: Kafka;
  // Unpatched kafkajs armed a negative timeout after every response; Node 24 warns about it once per process.
  const negativeTimeouts: string[] = [];
  const onWarning = (warning: Error) => {
    if (warning.name === 'TimeoutNegativeWarning') negativeTimeouts.push(warning.message);
  };

  beforeAll(async () => {
    process.on('warning', onWarning);
    service = await startApp(testConfig({ RECENT_EVENTS_CAPACITY: '3000' }));
    kafka = kafkaClient();
    await waitUntilReady(service.app);
  }, 60_000);

  afterAll(async () => {
    process.off('warning', onWarning);
    await stopApp(service);
  });

  it('answers health and readiness', async () => {
    expect((await service.app.inject('/api/events/health')).json()).toEqual({ status: true });
    const ready = await service.app.inject('/api/events/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', producer: 'connected' });
  });

  it.each(['movie', 'user', 'payment'] as const)(
    'publishes a %s event after the ack and the consumer processes it',
    async (type) => {
      const res = await service.app.inject({
        method: 'POST',
        url: `/api/events/${type}`,
        payload: samples[type],
      });
      expect(res.statusCode).toBe(201);
      const body = res.json();
      assertMatchesResponse('post', `/api/events/${type}`, 201, body);
      expect(body).toMatchObject({ status: 'success', event: { type, payload: samples[type] } });

      const seen = await waitFor(`event ${body.event.id} in /recent`, async () => {
        const recent = await service.app.inject(`/api/events/recent?type=${type}&limit=50`);
        return (recent.json().events as ProcessedEvent[]).find((event) => event.id === body.event.id);
      });
      const topic = service.config[`${type.toUpperCase()}_EVENTS_TOPIC` as 'MOVIE_EVENTS_TOPIC'];
      expect(seen).toMatchObject({
        type,
        topic,
        partition: body.partition,
        offset: String(body.offset),
        payload: samples[type],
      });
      expect(seen.produce_to_consume_ms).toBeGreaterThanOrEqual(0);
      expect(service.logs).toContainEqual(
        expect.objectContaining({
          msg: 'event processed',
          type,
          id: body.event.id,
          partition: body.partition,
          offset: String(body.offset),
        }),
      );
    },
    20_000,
  );

  it('keys events by entity id, so one entity always lands on one partition', async () => {
    const post = (action: string) =>
      service.app.inject({
        method: 'POST',
        url: '/api/events/movie',
        payload: { ...samples.movie, movie_id: 1234, action },
      });
    const partitions = new Set(
      (await Promise.all(['a', 'b', 'c', 'd'].map(post))).map((res) => res.json().partition),
    );
    expect(partitions.size).toBe(1);
  });

  it('refuses invalid bodies with a 400 naming each field and publishes nothing', async () => {
    const config = testConfig();
    const isolated = await startApp(config);
    try {
      await waitUntilReady(isolated.app);
      const cases = [
        {
          type: 'movie',
          body: { movie_id: 'one', action: 'viewed' },
          fields: ['body.movie_id', 'body.title'],
        },
        {
          type: 'movie',
          body: { movie_id: 1, title: 'X', action: 'viewed', rating: 'high', genres: 'Drama' },
          fields: ['body.rating', 'body.genres'],
        },
        {
          type: 'user',
          body: { user_id: 1, action: 'login', timestamp: 'yesterday', email: 'nope' },
          fields: ['body.timestamp', 'body.email'],
        },
        {
          type: 'payment',
          body: { payment_id: 1.5, user_id: 1, status: 'ok', timestamp: '2026-01-01T00:00:00Z' },
          fields: ['body.payment_id', 'body.amount'],
        },
        {
          type: 'payment',
          body: undefined,
          fields: ['body.payment_id', 'body.user_id', 'body.amount', 'body.status', 'body.timestamp'],
        },
      ];
      for (const { type, body, fields } of cases) {
        const res = await isolated.app.inject({ method: 'POST', url: `/api/events/${type}`, payload: body });
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        for (const field of fields) expect(res.json().error).toContain(`${field}:`);
      }
      const malformed = await isolated.app.inject({
        method: 'POST',
        url: '/api/events/movie',
        headers: { 'content-type': 'application/json' },
        payload: '{"movie_id":',
      });
      expect(malformed.statusCode).toBe(400);

      const topics = [
        config.MOVIE_EVENTS_TOPIC,
        config.USER_EVENTS_TOPIC,
        config.PAYMENT_EVENTS_TOPIC,
        config.DLQ_TOPIC,
      ];
      expect(await messageCounts(kafka, topics)).toEqual(
        Object.fromEntries(topics.map((topic) => [topic, 0])),
      );
      // The series exist from the start, and stay at 0.
      const metrics = (await isolated.app.inject('/metrics')).body;
      expect(metrics.match(/^events_produced_total\{.*$/gm)).toEqual([
        'events_produced_total{type="movie"} 0',
        'events_produced_total{type="user"} 0',
        'events_produced_total{type="payment"} 0',
      ]);
    } finally {
      await stopApp(isolated);
    }
  }, 30_000);

  it('moves a malformed message to the dead-letter topic with the reason and goes on', async () => {
    const { config } = service;
    const producer = kafka.producer();
    const dlqReader = kafka.consumer({
      groupId: `${config.KAFKA_GROUP_ID}-dlq-reader`,
      maxWaitTimeInMs: 500,
    });
    const deadLetters: Array<{ value: string; headers: Record<string, string> }> = [];
    await producer.connect();
    await dlqReader.connect();
    try {
      await dlqReader.subscribe({ topic: config.DLQ_TOPIC, fromBeginning: true });
      await dlqReader.run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          );
          deadLetters.push({ value: String(message.value), headers });
        },
      });
      // Same key, so the poison message and the good one share a partition: the good one comes after it.
      const key = '777';
      const good = {
        id: `good-${Date.now()}`,
        type: 'movie',
        timestamp: new Date().toISOString(),
        payload: { ...samples.movie, movie_id: 777 },
      };
      const wrongPayload = { ...good, id: `bad-${Date.now()}`, payload: { movie_id: 777 } };
      await producer.send({
        topic: config.MOVIE_EVENTS_TOPIC,
        messages: [
          { key, value: 'not json at all' },
          { key, value: JSON.stringify(wrongPayload) },
          { key, value: JSON.stringify(good) },
        ],
      });

      await waitFor('the good message after the poison ones', async () =>
        (await recentIds(service.app, 3000)).has(good.id),
      );
      await waitFor(
        'both poison messages in the dead-letter topic',
        () => deadLetters.length >= 2 || undefined,
      );
      expect(deadLetters.map((letter) => letter.value)).toEqual([
        'not json at all',
        JSON.stringify(wrongPayload),
      ]);
      expect(deadLetters[0]?.headers).toMatchObject({
        'x-dlq-reason': 'not JSON',
        'x-dlq-topic': config.MOVIE_EVENTS_TOPIC,
      });
      expect(deadLetters[1]?.headers['x-dlq-reason']).toMatch(/payload\.title/);
      expect((await recentIds(service.app, 3000)).has(wrongPayload.id)).toBe(false);
      expect((await service.app.inject('/metrics')).body).toMatch(
        new RegExp(`events_dead_lettered_total\\{topic="${config.MOVIE_EVENTS_TOPIC}"\\} 2`),
      );
    } finally {
      await dlqReader.disconnect();
      await producer.disconnect();
    }
  }, 30_000);

  it('consumes every one of 1000 events posted concurrently', async () => {
    const types = ['movie', 'user', 'payment'] as const;
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => {
        const type = types[i % 3] as (typeof types)[number];
        const payload = { ...samples[type], [`${type}_id`]: i };
        return service.app.inject({ method: 'POST', url: `/api/events/${type}`, payload });
      }),
    );
    expect(responses.map((res) => res.statusCode).filter((status) => status !== 201)).toEqual([]);
    const posted = responses.map((res) => res.json().event.id as string);
    expect(new Set(posted).size).toBe(1000);

    const missing = await waitFor(
      'all 1000 events consumed',
      async () => {
        const seen = await recentIds(service.app, 3000);
        const notYet = posted.filter((id) => !seen.has(id));
        return notYet.length === 0 ? notYet : undefined;
      },
      45_000,
    );
    expect(missing).toEqual([]);

    // Publishes are batched: every 201 must still name the exact partition and offset its event got.
    const recent = (await service.app.inject('/api/events/recent?limit=3000')).json()
      .events as ProcessedEvent[];
    const consumedAt = new Map(recent.map((event) => [event.id, `${event.partition}:${event.offset}`]));
    const mismatched = responses
      .map((res) => res.json())
      .filter((body) => consumedAt.get(body.event.id) !== `${body.partition}:${body.offset}`);
    expect(mismatched).toEqual([]);
    const metrics = (await service.app.inject('/metrics')).body;
    const consumed = [...metrics.matchAll(/^events_consumed_total\{type="\w+"\} (\d+)$/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    expect(consumed).toBeGreaterThanOrEqual(1000);
  }, 90_000);

  it('lists recent events newest first and validates its query', async () => {
    const events = (await service.app.inject('/api/events/recent?limit=5')).json().events as ProcessedEvent[];
    expect(events).toHaveLength(5);
    const times = events.map((event) => event.processed_at);
    expect([...times].sort().reverse()).toEqual(times);
    const bad = await service.app.inject('/api/events/recent?type=film&limit=0');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/query\.type.*query\.limit|query\.limit.*query\.type/);
  });

  it('got no TimeoutNegativeWarning from kafkajs along the way (patches/kafkajs@2.2.4.patch)', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    expect(negativeTimeouts).toEqual([]);
  });
});
