import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { Kafka, logLevel as KafkaLogLevel, type LogEntry } from 'kafkajs';

const kafkaToPino = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
  [KafkaLogLevel.NOTHING]: 'silent',
} as const;

const maxBackoffMs = 5_000;

export interface ClientOptions {
  brokers: string[];
  clientId: string;
  publishTimeoutMs: number;
  log: FastifyBaseLogger;
}

/** The process' one kafkajs client, logging through pino. */
export function createKafka(options: ClientOptions): Kafka {
  const log = options.log.child({ component: 'kafka' });
  return new Kafka({
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
}

/** One step towards being connected; it throws while the broker is unreachable. */
export interface ConnectionSteps {
  /** True once everything is up: the loop stops. */
  isConnected: () => boolean;
  /** Brings up whatever is missing (topics, producer, consumer). */
  connectMissing: () => Promise<void>;
}

/**
 * The reconnect loop: connecting happens in the background with back-off, so the service starts with the
 * broker down and becomes ready when it returns; a later loss is recovered the same way.
 */
export class Reconnector {
  private running: Promise<void> | undefined;
  private connecting = false;
  private closed = false;
  private readonly stopWaiting = new AbortController();

  constructor(
    private readonly steps: ConnectionSteps,
    private readonly brokers: string[],
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Starts the loop unless it is already running. */
  keepConnecting(): void {
    if (!this.connecting) this.running = this.connectUntilReady();
  }

  /** Ends the loop's waiting at once; the loop itself, if any, is returned to wait for. */
  stop(): Promise<void> | undefined {
    this.closed = true;
    this.stopWaiting.abort();
    return this.running;
  }

  // One loop at a time; it runs until both the producer and the consumer are up, so a loss noticed while
  // it is still busy (a publish failing during consumer start-up) is picked up by the same loop.
  private async connectUntilReady(): Promise<void> {
    this.connecting = true;
    try {
      let delay = 250;
      while (!this.closed && !this.steps.isConnected()) {
        try {
          await this.steps.connectMissing();
          this.log.info({ brokers: this.brokers }, 'connected to Kafka');
        } catch (error) {
          this.log.warn({ err: error, retryInMs: delay }, 'Kafka not reachable; retrying');
          await this.pause(delay);
          delay = Math.min(delay * 2, maxBackoffMs);
        }
      }
    } finally {
      this.connecting = false;
    }
  }

  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopWaiting.signal }).catch(() => {});
  }
}
