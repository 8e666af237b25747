import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { Kafka, logLevel } from 'kafkajs';
import { buildApp } from '../src/app.js';
import { type Config, configSchema } from '../src/config.js';
import type { ProcessedEvent } from '../src/recent.js';

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** A config with topics and a consumer group of its own, so tests never see each other's events. */
export function testConfig(env: Record<string, string> = {}): Config {
  const suffix = randomUUID().slice(0, 8);
  return loadConfig(configSchema, {
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_GROUP_ID: `test-events-${suffix}`,
    MOVIE_EVENTS_TOPIC: `test-movie-${suffix}`,
    USER_EVENTS_TOPIC: `test-user-${suffix}`,
    PAYMENT_EVENTS_TOPIC: `test-payment-${suffix}`,
    DLQ_TOPIC: `test-dlq-${suffix}`,
    LOG_LEVEL: 'info',
    ...env,
  });
}

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  /** Every log line the app wrote, parsed. */
  logs: Array<Record<string, unknown>>;
}

export async function startApp(config: Config): Promise<TestApp> {
  const logs: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const app = await buildApp(config, { logger: { level: 'info', stream } });
  await app.ready();
  return { app, config, logs };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function waitUntilReady(app: FastifyInstance, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    'the service to be ready',
    async () => (await app.inject('/api/events/ready')).statusCode === 200,
    timeoutMs,
  );
}

export function kafkaClient(brokerList = brokers): Kafka {
  return new Kafka({
    clientId: `events-test-${randomUUID().slice(0, 8)}`,
    brokers: brokerList,
    logLevel: logLevel.NOTHING,
  });
}

/** Closes the app and deletes its topics, so test runs leave nothing behind on the shared broker. */
export async function stopApp(service: TestApp | undefined): Promise<void> {
  if (!service) return;
  await service.app.close();
  await deleteTopics(service.config);
}

export async function deleteTopics(config: Config, brokerList = brokers): Promise<void> {
  const admin = kafkaClient(brokerList).admin();
  await admin.connect();
  try {
    const mine = [
      config.MOVIE_EVENTS_TOPIC,
      config.USER_EVENTS_TOPIC,
      config.PAYMENT_EVENTS_TOPIC,
      config.DLQ_TOPIC,
    ];
    const existing = new Set(await admin.listTopics());
    await admin.deleteTopics({ topics: mine.filter((topic) => existing.has(topic)) });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Messages in each topic (sum of the partitions' high watermarks). A partition created a moment ago can still
 * answer NOT_LEADER_OR_FOLLOWER (seen on Kafka 4.4), so each topic is asked until it answers, boundedly.
 */
export async function messageCounts(kafka: Kafka, topics: string[]): Promise<Record<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const counts: Record<string, number> = {};
    for (const topic of topics) {
      const offsets = await waitFor(`the offsets of ${topic}`, () => admin.fetchTopicOffsets(topic), 10_000);
      counts[topic] = offsets.reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0);
    }
    return counts;
  } finally {
    await admin.disconnect();
  }
}

export async function recentIds(app: FastifyInstance, limit: number): Promise<Set<string>> {
  const res = await app.inject(`/api/events/recent?limit=${limit}`);
  return new Set((res.json().events as ProcessedEvent[]).map((event) => event.id));
}

export const samples = {
  movie: { movie_id: 42, title: 'Inception', action: 'viewed', user_id: 7, rating: 8.5, genres: ['Sci-Fi'] },
  user: {
    user_id: 7,
    username: 'john_doe',
    email: 'john@example.com',
    action: 'registered',
    timestamp: '2026-01-15T14:30:00Z',
  },
  payment: {
    payment_id: 9,
    user_id: 7,
    amount: 9.99,
    status: 'completed',
    timestamp: '2026-01-15T14:30:00Z',
    method_type: 'card',
  },
} as const;
