import type { FastifyBaseLogger } from 'fastify';
import type { Consumer, EachBatchPayload, IHeaders, Kafka } from 'kafkajs';

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

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

export type MessageHandler = (message: ConsumedMessage) => Promise<void>;

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  log: FastifyBaseLogger;
  /** Called when kafkajs gave up on the consumer for good: the caller builds a new one. */
  onLost: () => void;
}

/** The consumer group: at-least-once processing, its running state and its lag per partition. */
export class EventConsumer {
  private consumer: Consumer | undefined;
  private running = false;
  private closed = false;
  private readonly lagByPartition = new Map<string, PartitionLag>();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ConsumerOptions,
    private readonly handler: MessageHandler,
  ) {}

  /** Whether a consumer was started and has not been lost since. */
  isStarted(): boolean {
    return this.consumer !== undefined;
  }

  isRunning(): boolean {
    return this.running;
  }

  /** Messages written to the topics but not yet processed, per partition, as of the latest fetch. */
  lag(): PartitionLag[] {
    return [...this.lagByPartition.values()];
  }

  async start(): Promise<void> {
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
      this.running = false; // until it joins the group again
      // kafkajs restarts by itself after retriable errors; otherwise build a new consumer.
      if (!payload.restart && !this.closed) {
        this.options.log.error({ err: payload.error }, 'consumer crashed for good; starting a new one');
        this.consumer = undefined;
        this.options.onLost();
      }
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.running = true;
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: this.options.topics, fromBeginning: true });
      await consumer.run({ eachBatchAutoResolve: false, eachBatch: (batch) => this.processBatch(batch) });
    } catch (error) {
      await consumer.disconnect().catch(() => {});
      throw error;
    }
    this.consumer = consumer;
  }

  /** Stops consuming: the current batch finishes and its offsets are committed. */
  async stop(): Promise<void> {
    this.closed = true;
    try {
      await this.consumer?.disconnect();
    } finally {
      this.running = false;
    }
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
    const lagKey = `${batch.topic}\0${batch.partition}`;
    const highWatermark = Number(batch.highWatermark);
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      await this.handler({
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
}

function stringHeaders(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined)
      result[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  return result;
}
