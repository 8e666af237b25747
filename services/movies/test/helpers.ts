import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
// The monolith itself: the owner of the writes, and the side the movies service must answer exactly like.
import { buildApp as buildMonolith } from '../../monolith/src/app.js';
import { configSchema as monolithConfig } from '../../monolith/src/config.js';
import { type Config, configSchema, MOVIES_DATABASE_URL } from '../src/config.js';
import { migrateSchema } from '../src/schema.js';

/** The movies database: MOVIES_DATABASE_URL when set (DATABASE_URL is the monolith's in CI), else the local one. */
export const moviesDatabaseUrl = process.env.MOVIES_DATABASE_URL ?? MOVIES_DATABASE_URL;
export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const silentLog = { info() {}, warn() {} };

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(configSchema, {
    ...process.env,
    LOG_LEVEL: 'silent',
    DATABASE_URL: moviesDatabaseUrl,
    ...overrides,
  });
}

export const unique = () => randomUUID().replaceAll('-', '').slice(0, 10);

/** A migrated schema of its own in the movies database; `url` reads and writes it. */
export async function throwAwaySchema(
  prefix: string,
): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${unique()}`;
  const admin = new pg.Client({ connectionString: moviesDatabaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  await migrateSchema(moviesDatabaseUrl, silentLog, schema);
  const url = new URL(moviesDatabaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    schema,
    url: url.href,
    async drop() {
      const client = new pg.Client({ connectionString: moviesDatabaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

export const kafka = () => new Kafka({ clientId: 'movies-test', brokers, logLevel: logLevel.NOTHING });

/** A one-partition topic of its own holding `messages` in order; returns its end offset. */
export async function topicWith(topic: string, messages: string[]): Promise<number> {
  const client = kafka();
  const admin = client.admin();
  const producer = client.producer({ idempotent: true });
  await Promise.all([admin.connect(), producer.connect()]);
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
    });
    for (let i = 0; i < messages.length; i += 1_000) {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.slice(i, i + 1_000).map((value) => ({ key: null, value })),
      });
    }
    return messages.length;
  } finally {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  }
}

export async function deleteTopic(topic: string): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
}

/** Removes a test's consumer group once its consumer has left. */
export async function deleteGroup(groupId: string): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.deleteGroups([groupId]);
  } finally {
    await admin.disconnect();
  }
}

/** The offset `groupId` committed on partition 0 of `topic` (-1 when none). */
export async function committedOffset(groupId: string, topic: string): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(offsets?.partitions[0]?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

/** Starts `groupId` at `offset` of `topic` (before its consumer first joins). */
export async function startGroupAt(groupId: string, topic: string, offset: number): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: String(offset) }] });
  } finally {
    await admin.disconnect();
  }
}

/** Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
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
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The monolith as the owner of the writes, built from this checkout and listening on a free port. Its writes
 * reach the movies database through the stack's capture (Debezium on Kafka Connect) and movies-sync.
 */
export async function startOwner(): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildMonolith(loadConfig(monolithConfig, { ...process.env, LOG_LEVEL: 'silent' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}` };
}
