import { type Kafka, type Message, Partitioners, type Producer, type RecordMetadata } from 'kafkajs';

export interface Published {
  partition: number;
  offset: string;
}

/** Kafka could not take a message within the bound: the caller answers 503. */
export class KafkaUnavailableError extends Error {
  override name = 'KafkaUnavailableError';
}

/** The buffer of messages for Kafka is full: nothing was sent, the caller may retry shortly. */
export class BufferFullError extends Error {
  override name = 'BufferFullError';
}

/** A publish in a send when its time ran out: the broker may still acknowledge it, or not. */
export class OutcomeUnknownError extends Error {
  override name = 'OutcomeUnknownError';
  constructor(
    message: string,
    /** Settles when the send does: where the message went, or why it failed. */
    readonly late: Promise<Published>,
  ) {
    super(message);
  }
}

/** The broker refused this one record as too large: the connection is fine, retrying cannot help. */
export class RecordTooLargeError extends Error {
  override name = 'RecordTooLargeError';
}

export interface QueueLimits {
  /** Bytes of one send (a Produce request): below the topics' max.message.bytes. */
  maxBatchBytes: number;
  /** Bytes waiting for a send or in one, all topics together. */
  maxBufferedBytes: number;
}

const maxMessagesPerSend = 500;
// A record's framing in a v2 batch (length, attributes, deltas, lengths) and the batch header, rounded up.
const recordOverheadBytes = 64;
const headerOverheadBytes = 10;

/** What a message takes in a record batch, at most: what the batch limits are counted in. */
export function recordBytes(message: Message): number {
  let size = recordOverheadBytes + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {}))
    size += headerOverheadBytes + Buffer.byteLength(name) + byteLength(value as string | Buffer | undefined);
  return size;
}

function byteLength(value: string | Buffer | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** A message handed to the queue: its acknowledgement, and a way to take it back while it still waits. */
export interface Submitted {
  published: Promise<Published>;
  /** Removes the message if no send holds it yet (it is then never published): true when it did. */
  withdraw: () => boolean;
}

interface Pending {
  message: Message;
  bytes: number;
  resolve: (published: Published) => void;
  reject: (error: unknown) => void;
}

interface TopicQueue {
  topic: string;
  waiting: Pending[];
  sending: boolean;
}

/**
 * The idempotent producer (acks from all in-sync replicas) and its batching: one queue and one Produce
 * request in flight per topic, each caller told its own partition and offset. Bounded in bytes: the buffer
 * as a whole, and each send below what the broker accepts in one batch, so the broker has no reason to
 * refuse a batch for its size.
 *
 * Should it refuse one anyway (a topic's limit lowered since the service connected), kafkajs rolls back
 * the idempotent sequence of every partition of that request, also of those the broker accepted, and the
 * next sends to them are refused as out of order. So the producer is replaced by a new one (new producer
 * id, fresh sequences), and the refused batch's records go again one by one: the one too large fails
 * alone, the others are published (those the broker had accepted a second time, under the same event id,
 * which the consumer skips).
 */
export class ProducerQueue {
  private producer: Producer;
  private readonly sendsOf = new Map<Producer, number>();
  private readonly retired = new Set<Producer>();
  private readonly queues = new Map<string, TopicQueue>();
  private readonly partitionCount = new Map<string, number>();
  private readonly choose = Partitioners.DefaultPartitioner();
  private bufferedBytes = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly limits: QueueLimits,
  ) {
    this.producer = this.newProducer();
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /** What the topics accept, as found when connecting: the partitions to spread keys over, the batch size. */
  topicsFound(partitions: Map<string, number>, maxBatchBytes: number): void {
    for (const [topic, count] of partitions) this.partitionCount.set(topic, count);
    this.limits.maxBatchBytes = Math.min(this.limits.maxBatchBytes, maxBatchBytes);
  }

  /** Bytes waiting for a send or in one. */
  buffered(): number {
    return this.bufferedBytes;
  }

  /** Resolves once the broker acknowledged the message, with where it was written. */
  enqueue(topic: string, message: Message): Promise<Published> {
    return this.submit(topic, message).published;
  }

  /**
   * Hands a message to its topic's queue. `published` rejects with BufferFullError at once when the
   * buffer has no room for it.
   */
  submit(topic: string, message: Message): Submitted {
    const bytes = recordBytes(message);
    if (this.bufferedBytes + bytes > this.limits.maxBufferedBytes) {
      const full = new BufferFullError(
        `${this.bufferedBytes} bytes already wait for Kafka (limit ${this.limits.maxBufferedBytes})`,
      );
      return { published: Promise.reject(full), withdraw: () => true };
    }
    let queue = this.queues.get(topic);
    if (!queue) {
      queue = { topic, waiting: [], sending: false };
      this.queues.set(topic, queue);
    }
    const target = queue;
    this.bufferedBytes += bytes;
    let settled = false;
    const settle = () => {
      if (!settled) this.bufferedBytes -= bytes;
      settled = true;
    };
    let pending: Pending | undefined;
    const published = new Promise<Published>((resolve, reject) => {
      pending = {
        message: { ...message, partition: this.partitionFor(topic, message) },
        bytes,
        resolve: (done) => {
          settle();
          resolve(done);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      target.waiting.push(pending);
    });
    if (!target.sending) void this.drain(target);
    const withdraw = () => {
      const at = pending ? target.waiting.indexOf(pending) : -1;
      if (at < 0) return false;
      target.waiting.splice(at, 1);
      pending?.reject(new KafkaUnavailableError('withdrawn before it was sent'));
      return true;
    };
    return { published, withdraw };
  }

  private newProducer(): Producer {
    return this.kafka.producer({
      idempotent: true,
      // Bounded, so a send gives up within the publish timeout instead of retrying forever.
      retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 5 },
      // Each message carries its partition already (partitionFor); named so kafkajs does not warn.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  // The default (Java-compatible) partitioner, as the producer would apply it, chosen here so that each
  // caller learns its partition whatever else shares the send.
  private partitionFor(topic: string, message: Message): number {
    const count = this.partitionCount.get(topic) ?? 1;
    const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      replicas: [],
      isr: [],
      partitionErrorCode: 0,
    }));
    return this.choose({ topic, partitionMetadata, message });
  }

  // kafkajs sends one Produce request per send() call (the Java client lingers and batches). Events that
  // arrive while a request is in flight go together in the next one: batches grow with the load without a
  // linger timer, and one request in flight per topic keeps each entity's events in order.
  private async drain(queue: TopicQueue): Promise<void> {
    queue.sending = true;
    while (queue.waiting.length > 0) {
      const batch = this.nextBatch(queue);
      try {
        await this.send(queue.topic, batch);
      } catch (error) {
        if (!isTooLarge(error) || batch.length === 1) {
          for (const pending of batch) pending.reject(refusal(error));
          continue;
        }
        // One record the broker will not take must not fail the others: each goes again on its own.
        await this.renew();
        for (const pending of batch)
          await this.send(queue.topic, [pending]).catch((e) => pending.reject(refusal(e)));
      }
    }
    queue.sending = false;
  }

  /** A new producer for the sends to come; the old one is disconnected once its sends have settled. */
  private async renew(): Promise<void> {
    const old = this.producer;
    this.producer = this.newProducer();
    this.retired.add(old);
    if (!this.sendsOf.get(old)) this.retire(old);
    await this.producer.connect();
  }

  private retire(producer: Producer): void {
    this.retired.delete(producer);
    this.sendsOf.delete(producer);
    void producer.disconnect().catch(() => {});
  }

  /** The oldest messages that fit in one send: at least one, at most maxBatchBytes together. */
  private nextBatch(queue: TopicQueue): Pending[] {
    let count = 0;
    let bytes = 0;
    for (const pending of queue.waiting) {
      if (count === maxMessagesPerSend || (count > 0 && bytes + pending.bytes > this.limits.maxBatchBytes))
        break;
      bytes += pending.bytes;
      count++;
    }
    return queue.waiting.splice(0, count);
  }

  private async send(topic: string, batch: Pending[]): Promise<void> {
    const producer = this.producer;
    this.sendsOf.set(producer, (this.sendsOf.get(producer) ?? 0) + 1);
    let records: RecordMetadata[];
    try {
      records = await producer.send({ topic, acks: -1, messages: batch.map((p) => p.message) });
    } finally {
      const left = (this.sendsOf.get(producer) ?? 1) - 1;
      this.sendsOf.set(producer, left);
      if (left === 0 && this.retired.has(producer)) this.retire(producer);
    }
    // Within a partition the messages were appended in order from the partition's base offset.
    const nextOffset = new Map(records.map((r) => [r.partition, BigInt(r.baseOffset ?? -1)]));
    for (const pending of batch) {
      const { partition } = pending.message;
      const offset = partition === undefined ? undefined : nextOffset.get(partition);
      if (partition === undefined || offset === undefined || offset < 0n) {
        pending.reject(new KafkaUnavailableError('no offset in the acknowledgement'));
        continue;
      }
      nextOffset.set(partition, offset + 1n);
      pending.resolve({ partition, offset: offset.toString() });
    }
  }
}

const tooLarge = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

// By name: kafkajs' error classes are not among the named exports Node's ESM loader sees in its CommonJS.
function isTooLarge(error: unknown): boolean {
  const { name, type } = (error ?? {}) as { name?: string; type?: string };
  return name === 'KafkaJSProtocolError' && type !== undefined && tooLarge.has(type);
}

function refusal(error: unknown): unknown {
  return isTooLarge(error) ? new RecordTooLargeError((error as Error).message) : error;
}
