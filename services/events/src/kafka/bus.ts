import type { FastifyBaseLogger } from 'fastify';
import type { IHeaders, Kafka } from 'kafkajs';
import { createKafka, Reconnector } from './connection.js';
import { EventConsumer, type MessageHandler, type PartitionLag } from './consumer.js';
import { KafkaUnavailableError, ProducerQueue, type Published } from './producer-queue.js';
import { ensureTopics } from './topics.js';

// This folder is the only code that knows about kafkajs (no release since 2023): swapping the client
// library means rewriting it, nothing else. The rest of the service sees the EventBus below.

export type { ConsumedMessage, PartitionLag } from './consumer.js';
export { KafkaUnavailableError, type Published } from './producer-queue.js';

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

/**
 * One client, one idempotent producer and one consumer group for the process, kept connected in the
 * background; what the routes and the processor use.
 */
export class EventBus {
  private readonly kafka: Kafka;
  private readonly queue: ProducerQueue;
  private readonly reconnector: Reconnector;
  private consumer: EventConsumer | undefined;
  private producerConnected = false;
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: BusOptions) {
    this.kafka = createKafka(options);
    this.queue = new ProducerQueue(this.kafka);
    this.reconnector = new Reconnector(
      {
        isConnected: () => this.producerConnected && this.consumer?.isStarted() === true,
        connectMissing: () => this.connectMissing(),
      },
      options.brokers,
      options.log,
    );
  }

  /** Connects in the background (never throws); `handler` processes each consumed message. */
  start(handler: MessageHandler): void {
    this.consumer = new EventConsumer(
      this.kafka,
      {
        groupId: this.options.groupId,
        topics: this.options.consumeTopics,
        log: this.options.log,
        onLost: () => this.reconnector.keepConnecting(),
      },
      handler,
    );
    this.reconnector.keepConnecting();
  }

  isProducerConnected(): boolean {
    return this.producerConnected;
  }

  isConsumerRunning(): boolean {
    return this.consumer?.isRunning() ?? false;
  }

  /** Messages written to the topics but not yet processed, per partition, as of the latest fetch. */
  lag(): PartitionLag[] {
    return this.consumer?.lag() ?? [];
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
    const send = this.queue.enqueue(topic, { key, value, headers });
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

  /** Stops consuming (the current batch finishes and is committed), waits for sends in flight, disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    const reconnecting = this.reconnector.stop();
    await bounded(this.consumer?.stop(), 15_000, this.options.log, 'consumer disconnect');
    await bounded(
      Promise.allSettled(this.inFlight),
      this.options.publishTimeoutMs,
      this.options.log,
      'producer flush',
    );
    await bounded(this.queue.producer.disconnect(), 5_000, this.options.log, 'producer disconnect');
    this.producerConnected = false;
    await bounded(reconnecting, 1_000, this.options.log, 'reconnect loop');
  }

  private async connectMissing(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer?.isStarted()) await ensureTopics(this.kafka, this.options, this.options.log);
    if (!this.producerConnected) {
      await this.queue.producer.connect();
      this.producerConnected = true;
    }
    if (consumer && !consumer.isStarted()) await consumer.start();
  }

  private producerLost(error: unknown): void {
    if (!this.producerConnected || this.closed) return;
    this.options.log.warn({ err: error }, 'publishing failed; not ready until the producer reconnects');
    this.producerConnected = false;
    this.reconnector.keepConnecting();
  }
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
