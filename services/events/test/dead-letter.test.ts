import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kafkaClient,
  recentIds,
  samples,
  startApp,
  stopApp,
  type TestApp,
  testConfig,
  waitFor,
  waitUntilReady,
} from './helpers.js';

// Against the real broker: issue 22 item 5. The dead-letter topic takes 256 KiB per record here, so an
// invalid message of 600 KB (legal on its own topic) cannot go there whole.
describe('a dead letter too large for the dead-letter topic', () => {
  let service: TestApp;
  let kafka: Kafka;
  const dlqLimit = 262_144;

  beforeAll(async () => {
    const config = testConfig();
    kafka = kafkaClient();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: config.DLQ_TOPIC,
            numPartitions: 1,
            configEntries: [{ name: 'max.message.bytes', value: String(dlqLimit) }],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    service = await startApp(config);
    await waitUntilReady(service.app);
  }, 60_000);

  afterAll(async () => {
    await stopApp(service);
  });

  it('is stored cut, with its topic, partition and offset, and the partition moves on', async () => {
    const { config } = service;
    const producer = kafka.producer();
    const dlqReader = kafka.consumer({
      groupId: `${config.KAFKA_GROUP_ID}-dlq-reader`,
      maxWaitTimeInMs: 500,
    });
    const letters: Array<{ value: Buffer | null; headers: Record<string, string> }> = [];
    await producer.connect();
    await dlqReader.connect();
    try {
      await dlqReader.subscribe({ topic: config.DLQ_TOPIC, fromBeginning: true });
      await dlqReader.run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          );
          letters.push({ value: message.value, headers });
        },
      });
      const good = {
        id: `good-${Date.now()}`,
        type: 'movie',
        timestamp: new Date().toISOString(),
        payload: { ...samples.movie, movie_id: 778 },
      };
      const poison = Buffer.alloc(600_000, 'x'); // not JSON
      const [written] = await producer.send({
        topic: config.MOVIE_EVENTS_TOPIC,
        messages: [
          { key: '778', value: poison, headers: { 'x-trace': 'z'.repeat(1000) } },
          { key: '778', value: JSON.stringify(good) },
        ],
      });

      await waitFor('the good message after the oversized poison one', async () =>
        (await recentIds(service.app, 100)).has(good.id),
      );
      await waitFor('the dead letter', () => letters.length >= 1 || undefined);
      const [letter] = letters;
      expect(letter?.headers).toMatchObject({
        'x-dlq-reason': 'not JSON',
        'x-dlq-topic': config.MOVIE_EVENTS_TOPIC,
        'x-dlq-partition': String(written?.partition),
        'x-dlq-offset': String(written?.baseOffset),
        'x-dlq-cut': 'headers,value',
        'x-dlq-value-bytes': '600000',
      });
      expect(letter?.headers['x-trace']).toBeUndefined();
      expect(letter?.value?.length).toBeGreaterThan(200_000);
      expect(letter?.value?.length).toBeLessThan(dlqLimit);
      expect(letter?.value?.equals(poison.subarray(0, letter.value.length))).toBe(true);
      const metrics = (await service.app.inject('/metrics')).body;
      expect(metrics).toMatch(
        new RegExp(`^events_dead_letters_cut_total\\{topic="${config.MOVIE_EVENTS_TOPIC}"\\} 1$`, 'm'),
      );
      expect((await service.app.inject('/api/events/ready')).statusCode).toBe(200);
    } finally {
      await dlqReader.disconnect();
      await producer.disconnect();
    }
  }, 60_000);
});
