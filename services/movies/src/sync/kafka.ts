import type { FastifyBaseLogger } from 'fastify';
import { type Consumer, Kafka, logLevel as KafkaLogLevel, type LogEntry } from 'kafkajs';
import type { StreamMessage } from './processor.js';

// The only module of movies-sync that knows kafkajs.

export interface StreamOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  log: FastifyBaseLogger;
  /** After each commit, with the next offset to read. */
  committed: (offset: bigint) => void;
  /** The handler was interrupted: whatever it holds in memory is to be dropped. */
  interrupted: () => void;
}

/** Returns the offset to commit once everything before it is in the movies database. */
export type BatchHandler = (
  messages: StreamMessage[],
  keepAlive: () => Promise<void>,
) => Promise<bigint | undefined>;

const kafkaToPino = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
  [KafkaLogLevel.NOTHING]: 'silent',
} as const;

/**
 * The change topic read by one consumer group. Offsets are committed by hand, only up to what the handler
 * says is applied; the fetch position moves on regardless, so a long transaction can span fetches. A new
 * group starts at the beginning of the topic (the initial snapshot).
 */
export class ChangeStream {
  private readonly consumer: Consumer;
  private running = false;
  private stopped = false;
  private starting: Promise<void> | undefined;
  /** Where reading resumes after an interruption: the last committed offset (or the first one read). */
  private restartFrom: bigint | undefined;

  constructor(private readonly options: StreamOptions) {
    const log = options.log.child({ component: 'kafka' });
    const kafka = new Kafka({
      clientId: 'movies-sync',
      brokers: options.brokers,
      connectionTimeout: 3_000,
      retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 8 },
      logLevel: KafkaLogLevel.WARN,
      logCreator:
        () =>
        ({ level, log: entry }: LogEntry) => {
          const { message, ...fields } = entry;
          log[kafkaToPino[level]](fields, message);
        },
    });
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      // Snapshot messages are small and many: fetch plenty at once.
      maxBytes: 16 * 1024 * 1024,
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxWaitTimeInMs: 100,
      retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 8 },
    });
    const { GROUP_JOIN, CRASH, STOP } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, () => {
      this.running = true;
    });
    this.consumer.on(CRASH, ({ payload }) => {
      this.running = false;
      log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    });
    this.consumer.on(STOP, () => {
      this.running = false;
    });
  }

  /** True while the consumer is in its group and fetching. */
  isRunning(): boolean {
    return this.running;
  }

  /** Connects in the background with back-off (never throws): the process starts with Kafka down. */
  start(handle: BatchHandler): void {
    this.starting = this.connectUntilRunning(handle);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting;
    await this.consumer.disconnect();
    this.running = false;
  }

  private async connectUntilRunning(handle: BatchHandler): Promise<void> {
    let delay = 250;
    while (!this.stopped) {
      try {
        await this.consumer.connect();
        await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
        await this.consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            const keepAlive = async () => {
              if (!isRunning() || isStale()) throw new Error('consumer stopping or rebalanced');
              await heartbeat();
            };
            const messages = batch.messages.map((m) => ({ offset: BigInt(m.offset), value: m.value }));
            const where = { topic: batch.topic, partition: batch.partition };
            this.restartFrom ??= messages[0]?.offset;
            let commitAt: bigint | undefined;
            try {
              commitAt = await handle(messages, keepAlive);
            } catch (error) {
              // Interrupted half way (stopping, or the group rebalanced): read again from the last commit,
              // where the handler starts clean, rather than from this fetch (a transaction may span both).
              this.options.interrupted();
              if (this.restartFrom !== undefined && isRunning()) {
                this.consumer.seek({ ...where, offset: this.restartFrom.toString() });
              }
              this.options.log.info(
                { err: error },
                'processing interrupted; reading again from the last commit',
              );
              return;
            }
            const last = batch.messages.at(-1);
            if (last) resolveOffset(last.offset);
            if (commitAt !== undefined && commitAt !== this.restartFrom) {
              await this.consumer.commitOffsets([{ ...where, offset: commitAt.toString() }]);
              this.restartFrom = commitAt;
              this.options.committed(commitAt);
            }
          },
        });
        this.options.log.info(
          { topic: this.options.topic, groupId: this.options.groupId },
          'consuming changes',
        );
        return;
      } catch (error) {
        this.options.log.warn({ err: error, retryInMs: delay }, 'Kafka not reachable; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }
}
