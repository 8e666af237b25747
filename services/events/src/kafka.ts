import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  Kafka,
  logLevel as KafkaLogLevel,
  type LogEntry,
  type Message,
  Partitioners,
  type Producer,
} from 'kafkajs';

// The only module that knows about kafkajs (no release since 2023): swapping the client library means
// rewriting this file, nothing else.

export interface BusOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  /** Topics created at start when missing; the consumer reads `consumeTopics`. */
  topics: string[];
  consumeTopics: string[];
  partitions: number;
  replicationFactor: number;
  /** Bound on one publish, including the producer's own retries. */
  publishTimeoutMs: number;
  log: FastifyBaseLogger;
}

export interface Published {
  partition: number;
  offset: string;
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** When the producer created it (ms since the epoch). */
  timestamp: number;
}

/** Kafka could not take a message within the bound: the caller answers 503. */
export class KafkaUnavailableError extends Error {
  override name = 'KafkaUnavailableError';
}

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

const kafkaToPino = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
  [KafkaLogLevel.NOTHING]: 'silent',
} as const;

const maxBackoffMs = 5_000;
const maxMessagesPerSend = 500;

interface TopicQueue {
  waiting: Array<{
    message: Message;
    resolve: (published: Published) => void;
    reject: (error: unknown) => void;
  }>;
  sending: boolean;
}

/**
 * One client, one idempotent producer (acks from all in-sync replicas) and one consumer group for the
 * process. Connecting happens in the background with back-off, so the service starts with the broker
 * down and becomes ready when it returns; the producer and consumer recover the same way later.
 */
export class EventBus {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private consumer: Consumer | undefined;
  private producerConnected = false;
  private consumerRunning = false;
  private closed = false;
  private reconnecting: Promise<void> | undefined;
  private connecting = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly queues = new Map<string, TopicQueue>();
  private readonly assignedPartition = new WeakMap<Message, number>();
  private readonly lagByPartition = new Map<string, PartitionLag>();
  private readonly stopWaiting = new AbortController();
  private handler: ((message: ConsumedMessage) => Promise<void>) | undefined;

  constructor(private readonly options: BusOptions) {
    const log = options.log.child({ component: 'kafka' });
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: 3_000,
      requestTimeout: Math.max(options.publishTimeoutMs, 5_000),
      retry: { initialRetryTime: 200, maxRetryTime: 2_000, retries: 5 },
      logLevel:
        options.log.level === 'debug' || options.log.level === 'trace'
          ? KafkaLogLevel.DEBUG
          : KafkaLogLevel.WARN,
      logCreator:
        () =>
        ({ level, log: entry }: LogEntry) => {
          const { message, ...fields } = entry;
          log[kafkaToPino[level]](fields, message);
        },
    });
    this.producer = this.kafka.producer({
      idempotent: true,
      // Bounded, so a send gives up within the publish timeout instead of retrying forever.
      retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 5 },
      // The default (Java-compatible) partitioner, noting where each message goes so that a batched
      // send can tell every caller its own partition and offset.
      createPartitioner: () => {
        const choose = Partitioners.DefaultPartitioner();
        return (args) => {
          const partition = choose(args);
          this.assignedPartition.set(args.message, partition);
          return partition;
        };
      },
    });
  }

  /** Connects in the background (never throws); `handler` processes each consumed message. */
  start(handler: (message: ConsumedMessage) => Promise<void>): void {
    this.handler = handler;
    this.keepConnecting();
  }

  isProducerConnected(): boolean {
    return this.producerConnected;
  }

  isConsumerRunning(): boolean {
    return this.consumerRunning;
  }

  /** Messages written to the topics but not yet processed, per partition, as of the latest fetch. */
  lag(): PartitionLag[] {
    return [...this.lagByPartition.values()];
  }

  /** Resolves only once the broker acknowledged the message; throws KafkaUnavailableError otherwise. */
  async publish(
    topic: string,
    key: string | null,
    value: string | Buffer | null,
    headers: IHeaders = {},
  ): Promise<Published> {
    if (this.closed) throw new KafkaUnavailableError('the service is shutting down');
    if (!this.producerConnected) throw new KafkaUnavailableError('not connected to Kafka');
    const send = this.enqueue(topic, { key, value, headers });
    this.inFlight.add(send);
    void send.catch(() => {}).finally(() => this.inFlight.delete(send));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new KafkaUnavailableError(`no acknowledgement within ${this.options.publishTimeoutMs} ms`)),
        this.options.publishTimeoutMs,
      );
    });
    try {
      return await Promise.race([send, timeout]);
    } catch (error) {
      this.producerLost(error);
      throw error instanceof KafkaUnavailableError
        ? error
        : new KafkaUnavailableError((error as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  private enqueue(topic: string, message: Message): Promise<Published> {
    return new Promise((resolve, reject) => {
      let queue = this.queues.get(topic);
      if (!queue) {
        queue = { waiting: [], sending: false };
        this.queues.set(topic, queue);
      }
      queue.waiting.push({ message, resolve, reject });
      if (!queue.sending) void this.drain(topic, queue);
    });
  }

  // kafkajs sends one Produce request per send() call (the Java client lingers and batches). Events that
  // arrive while a request is in flight go together in the next one: batches grow with the load without a
  // linger timer, and one request in flight per topic keeps each entity's events in order.
  private async drain(topic: string, queue: TopicQueue): Promise<void> {
    queue.sending = true;
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, maxMessagesPerSend);
      try {
        const records = await this.producer.send({ topic, acks: -1, messages: batch.map((p) => p.message) });
        // Within a partition the messages were appended in order from the partition's base offset.
        const nextOffset = new Map(records.map((r) => [r.partition, BigInt(r.baseOffset ?? -1)]));
        for (const pending of batch) {
          const partition = this.assignedPartition.get(pending.message);
          const offset = partition === undefined ? undefined : nextOffset.get(partition);
          if (partition === undefined || offset === undefined || offset < 0n) {
            pending.reject(new KafkaUnavailableError('no offset in the acknowledgement'));
            continue;
          }
          nextOffset.set(partition, offset + 1n);
          pending.resolve({ partition, offset: offset.toString() });
        }
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    queue.sending = false;
  }

  /** Stops consuming (the current batch finishes and is committed), waits for sends in flight, disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopWaiting.abort();
    await bounded(this.consumer?.disconnect(), 15_000, this.options.log, 'consumer disconnect');
    this.consumerRunning = false;
    await bounded(
      Promise.allSettled(this.inFlight),
      this.options.publishTimeoutMs,
      this.options.log,
      'producer flush',
    );
    await bounded(this.producer.disconnect(), 5_000, this.options.log, 'producer disconnect');
    this.producerConnected = false;
    await bounded(this.reconnecting, 1_000, this.options.log, 'reconnect loop');
  }

  private producerLost(error: unknown): void {
    if (!this.producerConnected || this.closed) return;
    this.options.log.warn({ err: error }, 'publishing failed; not ready until the producer reconnects');
    this.producerConnected = false;
    this.keepConnecting();
  }

  private keepConnecting(): void {
    if (!this.connecting) this.reconnecting = this.connectUntilReady();
  }

  // One loop at a time; it runs until both the producer and the consumer are up, so a loss noticed while
  // it is still busy (a publish failing during consumer start-up) is picked up by the same loop.
  private async connectUntilReady(): Promise<void> {
    this.connecting = true;
    try {
      let delay = 250;
      while (!this.closed && !(this.producerConnected && this.consumer)) {
        try {
          if (!this.consumer) await this.createTopics();
          if (!this.producerConnected) {
            await this.producer.connect();
            this.producerConnected = true;
          }
          if (!this.consumer) await this.startConsumer();
          this.options.log.info({ brokers: this.options.brokers }, 'connected to Kafka');
        } catch (error) {
          this.options.log.warn({ err: error, retryInMs: delay }, 'Kafka not reachable; retrying');
          await this.pause(delay);
          delay = Math.min(delay * 2, maxBackoffMs);
        }
      }
    } finally {
      this.connecting = false;
    }
  }

  private async createTopics(): Promise<void> {
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = this.options.topics.filter((topic) => !existing.has(topic));
      if (missing.length === 0) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: this.options.partitions,
          replicationFactor: this.options.replicationFactor,
        })),
      });
      this.options.log.info({ topics: missing }, 'created topics');
    } finally {
      await admin.disconnect();
    }
  }

  private async startConsumer(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      allowAutoTopicCreation: false,
      // A short fetch wait keeps shutdown quick; fetches still return as soon as messages arrive.
      maxWaitTimeInMs: 1_000,
      // After a broker outage the crashed member is only dropped when its session expires, and the
      // group waits for it: 10 s instead of kafkajs' 30 s brings consuming back sooner.
      sessionTimeout: 10_000,
      heartbeatInterval: 3_000,
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.consumerRunning = false; // until it joins the group again
      // kafkajs restarts by itself after retriable errors; otherwise build a new consumer.
      if (!payload.restart && !this.closed) {
        this.options.log.error({ err: payload.error }, 'consumer crashed for good; starting a new one');
        this.consumer = undefined;
        this.keepConnecting();
      }
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.consumerRunning = true;
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: this.options.consumeTopics, fromBeginning: true });
      await consumer.run({ eachBatchAutoResolve: false, eachBatch: (batch) => this.processBatch(batch) });
    } catch (error) {
      await consumer.disconnect().catch(() => {});
      throw error;
    }
    this.consumer = consumer;
  }

  // At-least-once: an offset is resolved only after its message was processed, and kafkajs commits the
  // resolved offsets after each batch. A failing handler leaves the rest of the batch for a retry.
  private async processBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const handler = this.handler;
    if (!handler) return;
    const lagKey = `${batch.topic}\0${batch.partition}`;
    const highWatermark = Number(batch.highWatermark);
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      await handler({
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        headers: stringHeaders(message.headers),
        timestamp: Number(message.timestamp),
      });
      resolveOffset(message.offset);
      this.lagByPartition.set(lagKey, {
        topic: batch.topic,
        partition: batch.partition,
        lag: Math.max(0, highWatermark - Number(message.offset) - 1),
      });
      await heartbeat();
    }
  }

  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopWaiting.signal }).catch(() => {});
  }
}

function stringHeaders(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined)
      result[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  return result;
}

async function bounded(work: Promise<unknown> | undefined, ms: number, log: FastifyBaseLogger, what: string) {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), ms);
  });
  try {
    const outcome = await Promise.race([work.then(() => 'done' as const), expired]);
    if (outcome === 'expired') log.warn({ ms }, `${what} did not finish in time; going on`);
  } catch (error) {
    log.warn({ err: error }, `${what} failed`);
  } finally {
    clearTimeout(timer);
  }
}
