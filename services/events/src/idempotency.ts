import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * What the window remembers of one Idempotency-Key: the event it stands for and what became of it.
 * `pending`: a send may be under way; `published`: Kafka acknowledged it; `failed`: it was not published
 * (or its send failed after its outcome was unknown), so a retry may publish it, under the same id.
 */
export interface KeyRecord {
  eventId: string;
  timestamp: string;
  /** Of the request's type and payload: the same key with another body is refused. */
  fingerprint: string;
  state: 'pending' | 'published' | 'failed';
  /** When the pending state was taken (ms since the epoch): a pending record older than the lease is stale. */
  since: number;
  partition?: number;
  offset?: string;
}

/**
 * The window of Idempotency-Keys. Every change is a compare-and-set on the whole record, so of two requests
 * racing for one key (on one replica or several) exactly one wins.
 */
export interface IdempotencyStore {
  /** Stores `record` under `key` if the key is free; else returns what is there. */
  claim(key: string, record: KeyRecord): Promise<KeyRecord | undefined>;
  /** Replaces `expected` with `next`; false if the record changed meanwhile (or expired). */
  replace(key: string, expected: KeyRecord, next: KeyRecord): Promise<boolean>;
  get(key: string): Promise<KeyRecord | undefined>;
  close(): Promise<void>;
}

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export function fingerprint(type: string, payload: unknown): string {
  return createHash('sha256')
    .update(`${type}\n${JSON.stringify(payload)}`)
    .digest('base64url');
}

/**
 * One process' window, for a single replica (without REDIS_URL): bounded by time and by bytes, the
 * oldest keys go first when the bytes run out.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, { json: string; expires: number }>();
  private bytes = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxBytes: number,
    private readonly now = Date.now,
  ) {}

  async claim(key: string, record: KeyRecord): Promise<KeyRecord | undefined> {
    const existing = await this.get(key);
    if (existing) return existing;
    this.set(key, JSON.stringify(record));
    return undefined;
  }

  async replace(key: string, expected: KeyRecord, next: KeyRecord): Promise<boolean> {
    const entry = this.live(key);
    if (!entry || entry.json !== JSON.stringify(expected)) return false;
    this.set(key, JSON.stringify(next), entry.expires);
    return true;
  }

  async get(key: string): Promise<KeyRecord | undefined> {
    const entry = this.live(key);
    return entry ? (JSON.parse(entry.json) as KeyRecord) : undefined;
  }

  async close(): Promise<void> {}

  /** Bytes held, as counted against maxBytes. */
  size(): number {
    return this.bytes;
  }

  private live(key: string) {
    const entry = this.entries.get(key);
    if (entry && entry.expires <= this.now()) {
      this.delete(key);
      return undefined;
    }
    return entry;
  }

  private set(key: string, json: string, expires = this.now() + this.windowMs): void {
    this.delete(key);
    this.entries.set(key, { json, expires });
    this.bytes += entryBytes(key, json);
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entryBytes(key, entry.json);
  }
}

// Strings as UTF-16 plus the Map entry's own cost, roughly.
const entryBytes = (key: string, json: string) => 2 * (key.length + json.length) + 96;

// Sets ARGV[2] only while the key holds exactly ARGV[1], keeping its expiry.
const replaceScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
end
return false`;

/**
 * The window in Redis, shared by every replica: a key is claimed with SET NX and expires with the window,
 * so Redis holds only the keys of the last window. Fails fast (no offline queue): a request with a key
 * then gets a 503 rather than waiting, and requests without one never touch Redis.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly windowMs: number,
    private readonly prefix = 'cinemaabyss:events:idempotency:',
  ) {
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      commandTimeout: 2_000,
      connectionName: 'events-idempotency',
    });
    // Reconnecting is ioredis' own job; without a listener an error event would crash the process.
    this.redis.on('error', () => {});
  }

  async claim(key: string, record: KeyRecord): Promise<KeyRecord | undefined> {
    const stored = await this.call(() =>
      this.redis.set(this.prefix + key, JSON.stringify(record), 'PX', this.windowMs, 'NX'),
    );
    if (stored === 'OK') return undefined;
    // Claimed by another request; if it expired in between, claim again.
    return (await this.get(key)) ?? this.claim(key, record);
  }

  async replace(key: string, expected: KeyRecord, next: KeyRecord): Promise<boolean> {
    const result = await this.call(() =>
      this.redis.eval(replaceScript, 1, this.prefix + key, JSON.stringify(expected), JSON.stringify(next)),
    );
    return result === 'OK';
  }

  async get(key: string): Promise<KeyRecord | undefined> {
    const json = await this.call(() => this.redis.get(this.prefix + key));
    return json === null ? undefined : (JSON.parse(json) as KeyRecord);
  }

  isConnected(): boolean {
    return this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new StoreUnavailableError(`Redis: ${(error as Error).message}`);
    }
  }
}
