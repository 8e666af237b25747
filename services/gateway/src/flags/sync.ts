import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { failFastRedis } from '../redis/connection.js';
import { HISTORY_LIMIT } from './history.js';
import {
  FLAG_KEY_PREFIX,
  fieldPairs,
  flagKey,
  flagOfKey,
  historyKey,
  type LiveFlag,
  pairsToHash,
  toHash,
} from './record.js';
import { IMPORT, READ_OR_RESTORE, UPDATE } from './scripts.js';

const INVALIDATION_CHANNEL = '__redis__:invalidate';

/** The flag scripts (scripts.ts), defined on the data connection. */
interface FlagCommands {
  readOrRestore(flagKey: string, historyKey: string, ...args: string[]): Promise<[number, string[]]>;
  updateFlag(flagKey: string, historyKey: string, ...args: string[]): Promise<string>;
  importFlags(...keysAndArgs: (string | number)[]): Promise<string[]>;
}
export type FlagConnection = Redis & FlagCommands;

/** The flags the sync keeps current: the store's, in memory. */
export interface SyncedFlags {
  names(): string[];
  get(name: string): LiveFlag | undefined;
  /** A flag's hash as just read from Redis (never empty: a missing one is restored in the same step). */
  received(name: string, hash: Record<string, string>): void;
}

/**
 * Keeps the flags in memory current with Redis server-assisted client-side caching: the data connection
 * turns on CLIENT TRACKING in broadcast mode for the flag prefix, redirected to a second connection
 * subscribed to `__redis__:invalidate`, so a write from anywhere (admin API of any replica, redis-cli)
 * pushes an invalidation and the flag is re-read within a round trip.
 *
 * A lost connection also loses tracking (and any invalidation sent meanwhile), so every reconnect
 * re-enables tracking and re-reads every flag before reporting itself in sync again. Redis back without a
 * flag: see `readFlag`.
 */
export class FlagSync {
  /** The connection every flag command runs on (the store's too). */
  readonly data: FlagConnection;
  private readonly invalidations: Redis;
  private readonly restoredBy = `restored by gateway ${hostname()}`;
  private invalidationClientId: number | undefined;
  private inSync = false;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private closed = false;

  constructor(
    redisUrl: string,
    private readonly flags: SyncedFlags,
    private readonly log: FastifyBaseLogger,
  ) {
    this.data = failFastRedis(redisUrl, 'gateway-flags', log) as FlagConnection;
    this.data.defineCommand('readOrRestore', { numberOfKeys: 2, lua: READ_OR_RESTORE });
    this.data.defineCommand('updateFlag', { numberOfKeys: 2, lua: UPDATE });
    this.data.defineCommand('importFlags', { lua: IMPORT });
    // Subscriptions are re-made by hand on reconnect: the CLIENT ID must be read before subscribing.
    this.invalidations = failFastRedis(redisUrl, 'gateway-flag-invalidations', log, {
      autoResubscribe: false,
    });
    for (const connection of [this.data, this.invalidations])
      connection.on('close', () => this.lostConnection());
    this.invalidations.on('ready', () => void this.subscribe());
    this.data.on('ready', () => void this.sync());
    this.invalidations.on('message', (_channel: string, keys: unknown) => this.invalidated(keys));
  }

  /** True while Redis is reachable and invalidations are flowing. */
  isConnected(): boolean {
    return this.inSync;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.inSync = false;
    await Promise.allSettled([this.data.quit(), this.invalidations.quit()]);
    this.data.disconnect();
    this.invalidations.disconnect();
  }

  private lostConnection(): void {
    if (this.inSync) this.log.warn('flag store lost Redis: routing on the last known flag values');
    this.inSync = false;
  }

  private async subscribe(): Promise<void> {
    try {
      this.invalidationClientId = undefined;
      const id = (await this.invalidations.client('ID')) as number;
      await this.invalidations.subscribe(INVALIDATION_CHANNEL);
      this.invalidationClientId = id;
      await this.sync();
    } catch (error) {
      this.log.debug({ err: error }, 'could not subscribe to flag invalidations; will retry on reconnect');
    }
  }

  /** (Re-)enables tracking towards the current subscriber and re-reads every flag; runs one at a time. */
  private async sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false;
        await this.syncOnce();
      } while (this.syncAgain && !this.closed);
    })().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const redirect = this.invalidationClientId;
    if (this.closed || redirect === undefined || this.data.status !== 'ready') return;
    try {
      await this.data.client('TRACKING', 'OFF');
      await this.data.client(
        'TRACKING',
        'ON',
        'REDIRECT',
        String(redirect),
        'BCAST',
        'PREFIX',
        FLAG_KEY_PREFIX,
      );
      const names = this.flags.names();
      for (const name of names) await this.readFlag(name);
      if (!this.inSync)
        this.log.info(
          { flags: Object.fromEntries(names.map((name) => [name, this.flags.get(name)])) },
          'flag store in sync with Redis',
        );
      this.inSync = this.invalidationClientId === redirect && this.data.status === 'ready';
    } catch (error) {
      this.log.warn({ err: error }, 'flag store could not sync with Redis; will retry on reconnect');
    }
  }

  private invalidated(keys: unknown): void {
    // A null payload means Redis flushed everything (FLUSHALL, or tracking table overflow).
    const names = Array.isArray(keys)
      ? keys.map((key) => flagOfKey(String(key))).filter((name) => name !== undefined)
      : this.flags.names();
    for (const name of names) if (this.flags.get(name)) void this.reread(name);
  }

  private async reread(name: string): Promise<void> {
    try {
      await this.readFlag(name);
    } catch (error) {
      // The reconnect path re-reads everything; nothing else to do here.
      this.log.warn({ err: error, flag: name }, 'could not re-read invalidated flag');
    }
  }

  /**
   * Reads a flag. When its hash is missing (Redis restarted without persistence, failed over to an empty
   * replica, the key was deleted) the same atomic step writes back the last value this gateway saw, in
   * Redis or in its snapshot file, with a history entry; only a flag it never saw gets the env seed. Of
   * replicas racing to do so, one writes and the others read its value back.
   */
  private async readFlag(name: string): Promise<void> {
    const known = this.flags.get(name)!;
    const restore = known.source !== 'seed';
    const [wrote, stored] = await this.data.readOrRestore(
      flagKey(name),
      historyKey(name),
      new Date().toISOString(),
      restore ? this.restoredBy : '',
      String(HISTORY_LIMIT),
      ...fieldPairs(toHash(known.value)),
    );
    if (wrote && restore)
      this.log.warn(
        { flag: name, value: known.value, from: known.source },
        'flag was missing from Redis; wrote back the last known value',
      );
    else if (wrote) this.log.info({ flag: name, value: known.value }, 'flag seeded in Redis from the env');
    this.flags.received(name, pairsToHash(stored));
  }
}
