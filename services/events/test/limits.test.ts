import { setTimeout } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

// Against the real broker, on topics of this file's own: the size limits of issue 22 (item 2).
describe('events size limits', () => {
  let service: TestApp;
  let kafka: Kafka;

  beforeAll(async () => {
    service = await startApp(
      testConfig({
        EVENT_MAX_STRING_BYTES: '1024',
        EVENT_MAX_BYTES: '4096',
        RECENT_EVENTS_MAX_BYTES: '65536',
      }),
    );
    kafka = kafkaClient();
    await waitUntilReady(service.app);
  }, 60_000);

  afterAll(async () => {
    await stopApp(service);
  });

  const post = (type: 'movie' | 'user' | 'payment', payload: unknown) =>
    service.app.inject({ method: 'POST', url: `/api/events/${type}`, payload: payload as object });

  it('refuses a payload string over its limit with a 413 naming the field, in arrays too', async () => {
    const long = await post('movie', { ...samples.movie, description: 'd'.repeat(1025) });
    expect(long.statusCode).toBe(413);
    expect(long.json().error).toBe('body.description: 1025 bytes, over the limit of 1024 bytes per string');
    const inArray = await post('movie', { ...samples.movie, genres: ['Drama', 'é'.repeat(600)] });
    expect(inArray.statusCode).toBe(413);
    expect(inArray.json().error).toMatch(/^body\.genres\.1: 1200 bytes, over the limit of 1024/);
    // At the limit exactly is fine.
    expect((await post('movie', { ...samples.movie, description: 'd'.repeat(1024) })).statusCode).toBe(201);
  });

  it('refuses an event over its limit with a 413 naming the largest field, and publishes nothing', async () => {
    const res = await post('movie', { ...samples.movie, genres: Array.from({ length: 600 }, () => 'Drama') });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatch(
      /^event: \d+ bytes, over the limit of 4096 bytes per event \(the largest field is body\.genres, \d+ bytes\)$/,
    );
    const { config } = service;
    const counts = await messageCounts(kafka, [config.MOVIE_EVENTS_TOPIC]);
    expect(counts[config.MOVIE_EVENTS_TOPIC]).toBe(1); // the one at the string limit above
  });

  it('keeps /recent within its bytes: the oldest events go first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await post('movie', {
        ...samples.movie,
        movie_id: 1, // one partition, so consumed in the order posted
        title: 't'.repeat(1000),
        description: 'x'.repeat(1000),
      });
      expect(res.statusCode).toBe(201);
      ids.push(res.json().event.id);
    }
    const last = ids.at(-1);
    await waitFor('the last event in /recent', async () =>
      (
        (await service.app.inject('/api/events/recent?limit=500')).json().events as Array<{ id: string }>
      ).some((event) => event.id === last),
    );
    const recent = (await service.app.inject('/api/events/recent?limit=500')).json().events as Array<{
      id: string;
    }>;
    // ~2.3 KB each with the entry's own overhead: 64 KiB holds fewer than the 40 sent, newest first.
    expect(recent.length).toBeGreaterThan(10);
    expect(recent.length).toBeLessThan(40);
    expect(recent.map((event) => event.id)).toEqual(ids.slice(-recent.length).reverse());
    const metrics = (await service.app.inject('/metrics')).body;
    const held = Number(/^events_buffered_bytes\{buffer="recent"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(65536);
  });
});

describe('a record the broker refuses', () => {
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

  it('fails only its own request, with a 413, and never makes /ready fail', async () => {
    const topic = service.config.MOVIE_EVENTS_TOPIC;
    // The topic accepts less than the service was told at start (an operator lowered it since): the
    // service's own limits let a 100 KB event through, the broker refuses it.
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: kafkajs.ConfigResourceTypes.TOPIC,
            name: topic,
            configEntries: [{ name: 'max.message.bytes', value: '65536' }],
          },
        ],
      });
      await waitFor('the topic to accept at most 64 KiB', async () => {
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [
            { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] },
          ],
        });
        return resources[0]?.configEntries[0]?.configValue === '65536';
      });
    } finally {
      await admin.disconnect();
    }

    const readiness: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        readiness.push((await service.app.inject('/api/events/ready')).statusCode);
        await setTimeout(5); // inject resolves without I/O: without a pause the loop would starve Kafka
      }
    })();
    // Small events of other clients around the big one, all at once, so they share sends with it.
    const small = (i: number) =>
      service.app.inject({
        method: 'POST',
        url: '/api/events/movie',
        payload: { ...samples.movie, movie_id: 5000 + i },
      });
    const big = service.app.inject({
      method: 'POST',
      url: '/api/events/movie',
      payload: {
        ...samples.movie,
        movie_id: 5100,
        description: 'x'.repeat(60_000),
        genres: ['y'.repeat(40_000)],
      },
    });
    const responses = await Promise.all([
      small(0),
      big,
      ...Array.from({ length: 30 }, (_, i) => small(i + 1)),
    ]);
    watching = false;
    await watcher;

    const [first, refused, ...rest] = responses;
    expect(refused?.statusCode).toBe(413);
    expect(refused?.json().error).toMatch(/^event: refused by Kafka as too large/);
    expect([first, ...rest].map((res) => res?.statusCode)).toEqual(Array(31).fill(201));
    expect(readiness.length).toBeGreaterThan(0);
    expect(readiness.filter((status) => status !== 200)).toEqual([]);
    expect((await service.app.inject('/api/events/ready')).statusCode).toBe(200);
  }, 30_000);
});
