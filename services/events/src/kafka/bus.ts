import type { FastifyBaseLogger } from 'fastify';
import type { IHeaders, Kafka } from 'kafkajs';
import { createKafka, Reconnector } from './connection.js';
import { EventConsumer, type MessageHandler, type PartitionLag } from './consumer.js';
import {
  BufferFullError,
  KafkaUnavailableError,
  OutcomeUnknownError,
  ProducerQueue,
  type Published,
  RecordTooLargeError,
} from './producer-queue.js';
import { ensureTopics, type TopicsFound } from './topics.js';

// This folder is the only code that knows about kafkajs (no release since 2023): swapping the client
// library means rewriting it, nothing else. The rest of the service sees the EventBus below.

export type { ConsumedMessage, PartitionLag } from './consumer.js';
export {
  BufferFullError,
  KafkaUnavailableError,
  OutcomeUnknownError,
  type Published,
  RecordTooLargeError,
  recordBytes,
} from './producer-queue.js';

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
  /** The topics' max.message.bytes as configured; a smaller value found on the topics wins. */
  maxMessageBytes: number;
  /** Bytes of messages waiting for Kafka or in a send, together. */
  maxBufferedBytes: number;
  log: FastifyBaseLogger;
}

// Below max.message.bytes for the batch's own header; recordBytes() already counts each record generously.
const batchHeadroomBytes = 1024;

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
  private maxMessageBytes: number;

  constructor(private readonly options: BusOptions) {
    this.kafka = createKafka(options);
    this.maxMessageBytes = options.maxMessageBytes;
    this.queue = new ProducerQueue(this.kafka, {
      maxBatchBytes: options.maxMessageBytes - batchHeadroomBytes,
      maxBufferedBytes: options.maxBufferedBytes,
    });
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

  /** The most one record may take (see recordBytes) for the topics to accept it. */
  maxRecordBytes(): number {
    return this.maxMessageBytes - batchHeadroomBytes;
  }

  /** Bytes of messages waiting for Kafka or in a send. */
  bufferedBytes(): number {
    return this.queue.buffered();
  }

  /**
   * Resolves only once the broker acknowledged the message. Throws, without judging the connection,
   * BufferFullError (nothing sent, retry shortly) or RecordTooLargeError (the broker refused this record);
   * when the time runs out, KafkaUnavailableError if the message was still waiting (it is then withdrawn:
   * never published) and OutcomeUnknownError if a send held it (the broker may still take it). A send that
   * failed is an OutcomeUnknownError too (a request may time out after the broker wrote it), unless the
   * broker answered with a refusal.
   */
  async publish(
    topic: string,
    key: string | null,
    value: string | Buffer | null,
    headers: IHeaders = {},
  ): Promise<Published> {
    if (this.closed) throw new KafkaUnavailableError('the service is shutting down');
    if (!this.producerConnected) throw new KafkaUnavailableError('not connected to Kafka');
    const { published, withdraw } = this.queue.submit(topic, { key, value, headers });
    this.inFlight.add(published);
    void published.catch(() => {}).finally(() => this.inFlight.delete(published));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const within = `no acknowledgement within ${this.options.publishTimeoutMs} ms`;
        reject(
          withdraw()
            ? new KafkaUnavailableError(`${within}; withdrawn before it was sent`)
            : new OutcomeUnknownError(within, published),
        );
      }, this.options.publishTimeoutMs);
    });
    try {
      return await Promise.race([published, timeout]);
    } catch (error) {
      if (error instanceof BufferFullError || error instanceof RecordTooLargeError) throw error;
      this.producerLost(error);
      if (error instanceof KafkaUnavailableError || error instanceof OutcomeUnknownError) throw error;
      // A send held the message: unless the broker answered with a refusal, it may have written it.
      const { message } = error as Error;
      if (isRefusal(error)) throw new KafkaUnavailableError(`refused by Kafka: ${message}`);
      throw new OutcomeUnknownError(message, published);
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
    await bounded(this.queue.disconnect(), 5_000, this.options.log, 'producer disconnect');
    this.producerConnected = false;
    await bounded(reconnecting, 1_000, this.options.log, 'reconnect loop');
  }

  private async connectMissing(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer?.isStarted())
      this.topicsFound(await ensureTopics(this.kafka, this.options, this.options.log));
    if (!this.producerConnected) {
      await this.queue.connect();
      this.producerConnected = true;
    }
    if (consumer && !consumer.isStarted()) await consumer.start();
  }

  private topicsFound({ partitions, maxMessageBytes }: TopicsFound): void {
    if (maxMessageBytes < this.options.maxMessageBytes)
      this.options.log.warn(
        { topics: maxMessageBytes, configured: this.options.maxMessageBytes },
        'the topics accept smaller batches than KAFKA_MAX_MESSAGE_BYTES: batches and dead letters follow the topics',
      );
    this.maxMessageBytes = Math.min(this.options.maxMessageBytes, maxMessageBytes);
    this.queue.topicsFound(partitions, this.maxMessageBytes - batchHeadroomBytes);
  }

  private producerLost(error: unknown): void {
    if (!this.producerConnected || this.closed) return;
    this.options.log.warn({ err: error }, 'publishing failed; not ready until the producer reconnects');
    this.producerConnected = false;
    this.reconnector.keepConnecting();
  }
}

/** The broker answered the Produce request with an error that is not worth a retry: nothing was appended. */
function isRefusal(error: unknown): boolean {
  const { name, retriable } = (error ?? {}) as { name?: string; retriable?: boolean };
  return name === 'KafkaJSProtocolError' && retriable === false;
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
