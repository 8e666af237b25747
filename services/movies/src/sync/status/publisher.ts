import type { Log } from '@cinemaabyss/postgres';
import { Redis } from 'ioredis';
import type { DataStatus } from './document.js';

/** Where a domain's status lives, and the channel that asks for a full parity pass now. */
export const statusKey = (domain: string) => `cinemaabyss:data:${domain}`;
export const verifyChannel = (domain: string) => `${statusKey(domain)}:verify`;

/** Who asked for a pass, when the message says (`{"by":"alice"}`); anything else is still a request. */
export interface VerifyRequest {
  by?: string;
}

export interface StatusPublisherOptions {
  redisUrl: string;
  domain: string;
  /** How often the document is rebuilt and written; its TTL outlives several missed writes. */
  intervalMs: number;
  ttlMs: number;
  build: () => Promise<DataStatus>;
  onVerify: (request: VerifyRequest) => void;
  log: Log & { debug(obj: object, msg: string): void };
}

/**
 * Keeps the status document in Redis: rebuilt and SET (with a TTL, so a dead process's status disappears
 * instead of going stale) every intervalMs, one write at a time; and listens on the verify channel.
 * The writing connection fails fast (no offline queue): a write missed while Redis is away is simply
 * replaced by the next one. The subscriber queues its SUBSCRIBE and re-subscribes after a reconnect.
 */
export class StatusPublisher {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: StatusPublisherOptions) {
    const { redisUrl, log } = options;
    const common = {
      connectTimeout: 1_000,
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
    };
    this.redis = new Redis(redisUrl, {
      ...common,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectionName: 'movies-sync-status',
      lazyConnect: true,
    });
    this.subscriber = new Redis(redisUrl, {
      ...common,
      connectionName: 'movies-sync-verify',
      lazyConnect: true,
    });
    for (const connection of [this.redis, this.subscriber])
      connection.on('error', (error: Error) =>
        log.debug({ err: error }, 'data status: Redis connection error'),
      );
    this.subscriber.on('message', (_channel: string, message: string) => this.verify(message));
  }

  /** Connects, subscribes, and writes now and every intervalMs; waits for nothing (Redis may be down). */
  start(): void {
    this.redis.connect().catch(() => {});
    this.subscriber.connect().catch(() => {});
    this.subscriber
      .subscribe(verifyChannel(this.options.domain))
      .catch((error: Error) => this.options.log.warn({ err: error }, 'data status: could not subscribe'));
    this.timer = setInterval(() => void this.publish(), this.options.intervalMs);
    this.timer.unref();
    void this.publish();
  }

  /** Builds and writes the document now; joins the write under way, if any. Never throws. */
  publish(): Promise<void> {
    this.writing ??= this.write().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.writing;
    // QUIT only where connected: on a connection still trying, it would wait for Redis to come back.
    const connections = [this.redis, this.subscriber];
    await Promise.allSettled(connections.filter((c) => c.status === 'ready').map((c) => c.quit()));
    for (const connection of connections) connection.disconnect();
  }

  private async write(): Promise<void> {
    if (this.closed) return;
    try {
      const document = await this.options.build();
      if (this.redis.status !== 'ready') return;
      await this.redis.set(
        statusKey(this.options.domain),
        JSON.stringify(document),
        'PX',
        this.options.ttlMs,
      );
    } catch (error) {
      this.options.log.warn({ err: error }, 'data status: could not publish');
    }
  }

  private verify(message: string): void {
    let request: VerifyRequest = {};
    try {
      const parsed: unknown = JSON.parse(message);
      const by = (parsed as { by?: unknown } | null)?.by;
      if (typeof by === 'string') request = { by };
    } catch {
      // The message is the request; its body only says who made it.
    }
    this.options.log.info({ ...request, domain: this.options.domain }, 'parity pass requested');
    this.options.onVerify(request);
  }
}
