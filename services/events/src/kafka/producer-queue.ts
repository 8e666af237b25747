import { type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';

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

interface PartitionQueue {
  topic: string;
  partition: number;
  waiting: Pending[];
  sending: boolean;
}

/**
 * The idempotent producer (acks from all in-sync replicas) and its batching: one queue and one Produce
 * request in flight per partition, each caller told its own offset. Bounded in bytes: the buffer as a
 * whole, and each send below what the broker accepts in one batch.
 *
 * One partition per send, because kafkajs rolls back the idempotent sequence of every partition of a
 * request that failed, even of those the broker accepted: after one record refused as too large, the next
 * sends to the other partitions were refused as out of order. With one partition per send a refusal
 * concerns that batch alone, and its other records go again one by one.
 */
export class ProducerQueue {
  readonly producer: Producer;
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly partitionCount = new Map<string, number>();
  private readonly choose = Partitioners.DefaultPartitioner();
  private bufferedBytes = 0;

  constructor(
    kafka: Kafka,
    private readonly limits: QueueLimits,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      // Bounded, so a send gives up within the publish timeout instead of retrying forever.
      retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 5 },
    });
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
   * Hands a message to its partition's queue. `published` rejects with BufferFullError at once when the
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
    const partition = this.partitionFor(topic, message);
    const id = `${topic}\0${partition}`;
    let queue = this.queues.get(id);
    if (!queue) {
      queue = { topic, partition, waiting: [], sending: false };
      this.queues.set(id, queue);
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
        message: { ...message, partition },
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

  // The default (Java-compatible) partitioner, as the producer would apply it, chosen here so that each
  // send holds one partition.
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
  // linger timer, and one request in flight per partition keeps each entity's events in order.
  private async drain(queue: PartitionQueue): Promise<void> {
    queue.sending = true;
    while (queue.waiting.length > 0) {
      const batch = this.nextBatch(queue);
      try {
        await this.send(queue, batch);
      } catch (error) {
        if (!isTooLarge(error) || batch.length === 1) {
          for (const pending of batch) pending.reject(refusal(error));
          continue;
        }
        // One record the broker will not take must not fail the others: each goes again on its own.
        for (const pending of batch)
          await this.send(queue, [pending]).catch((e) => pending.reject(refusal(e)));
      }
    }
    queue.sending = false;
  }

  /** The oldest messages that fit in one send: at least one, at most maxBatchBytes together. */
  private nextBatch(queue: PartitionQueue): Pending[] {
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

  private async send(queue: PartitionQueue, batch: Pending[]): Promise<void> {
    const records = await this.producer.send({
      topic: queue.topic,
      acks: -1,
      messages: batch.map((p) => p.message),
    });
    // The messages were appended in order from the partition's base offset.
    const base = records.find((r) => r.partition === queue.partition)?.baseOffset;
    if (base === undefined || BigInt(base) < 0n) {
      for (const pending of batch)
        pending.reject(new KafkaUnavailableError('no offset in the acknowledgement'));
      return;
    }
    for (const [i, pending] of batch.entries())
      pending.resolve({ partition: queue.partition, offset: (BigInt(base) + BigInt(i)).toString() });
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
