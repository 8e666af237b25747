import { type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';

export interface Published {
  partition: number;
  offset: string;
}

/** Kafka could not take a message within the bound: the caller answers 503. */
export class KafkaUnavailableError extends Error {
  override name = 'KafkaUnavailableError';
}

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
 * The idempotent producer (acks from all in-sync replicas) and its batching: one queue per topic, one
 * Produce request in flight per topic, each caller told its own partition and offset.
 */
export class ProducerQueue {
  readonly producer: Producer;
  private readonly queues = new Map<string, TopicQueue>();
  private readonly assignedPartition = new WeakMap<Message, number>();

  constructor(kafka: Kafka) {
    this.producer = kafka.producer({
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

  /** Resolves once the broker acknowledged the message, with where it was written. */
  enqueue(topic: string, message: Message): Promise<Published> {
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
}
