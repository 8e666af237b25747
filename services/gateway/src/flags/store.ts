import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { failFastRedis, RedisUnavailableError, whileReady } from '../redis/connection.js';
import { parseShadowFields, type ShadowSettings, shadowFields } from '../shadow/settings.js';
import { IMPORT, READ_OR_RESTORE, UPDATE } from './scripts.js';
import { type Flags, SnapshotFile } from './snapshot.js';
import {
  changeToHash,
  type FlagChange,
  type FlagValue,
  type LiveFlag,
  live,
  parseStoredFlag,
  toHash,
} from './value.js';

const FLAG_PREFIX = 'cinemaabyss:flag:';
const HISTORY_PREFIX = 'cinemaabyss:flag-history:';
const INVALIDATION_CHANNEL = '__redis__:invalidate';
/** Bounded audit trail per flag. */
export const HISTORY_LIMIT = 100;

export const flagKey = (name: string) => `${FLAG_PREFIX}${name}`;
export const historyKey = (name: string) => `${HISTORY_PREFIX}${name}`;

/** A flag's hash as the history shows it: the value, and the shadow settings when it has them. */
export type RecordedFlag = FlagValue & { shadow?: ShadowSettings };

export interface HistoryEntry {
  at: string;
  by: string;
  old: RecordedFlag | null;
  new: RecordedFlag;
}

const unavailable = () => new RedisUnavailableError('flag store');

interface FlagCommands {
  readOrRestore(flagKey: string, historyKey: string, ...args: string[]): Promise<[number, string[]]>;
  updateFlag(flagKey: string, historyKey: string, ...args: string[]): Promise<string>;
  importFlags(...keysAndArgs: (string | number)[]): Promise<string[]>;
}

const pairs = (hash: Record<string, string>) => Object.entries(hash).flat();

/**
 * The flag values every request is decided on, held in memory and kept current by Redis
 * server-assisted client-side caching: the data connection turns on CLIENT TRACKING in broadcast mode
 * for the flag prefix, redirected to a second connection subscribed to `__redis__:invalidate`, so a
 * write from anywhere (admin API of any replica, redis-cli) pushes an invalidation and the flag is
 * re-read within a round trip. Reading a flag on the request path is a Map lookup.
 *
 * Redis down: the last known values stay in force (at start-up: the snapshot file's, else the seeds),
 * requests never wait on Redis. A lost connection also loses tracking (and any invalidation sent
 * meanwhile), so every reconnect re-enables tracking and re-reads every flag before the store reports
 * itself in sync again. Redis back without a flag: see `readFlag`.
 */
export class FlagStore {
  private readonly values = new Map<string, LiveFlag>();
  private readonly snapshot: SnapshotFile | undefined;
  private readonly restoredBy = `restored by gateway ${hostname()}`;
  private readonly data: Redis & FlagCommands;
  private readonly invalidations: Redis;
  private invalidationClientId: number | undefined;
  private inSync = false;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private closed = false;

  constructor(
    redisUrl: string,
    seeds: Record<string, { enabled: boolean; percent: number }>,
    private readonly log: FastifyBaseLogger,
    snapshotFile?: string,
  ) {
    this.snapshot = snapshotFile ? new SnapshotFile(snapshotFile, log) : undefined;
    const saved = this.snapshot?.load() ?? {};
    for (const [name, seed] of Object.entries(seeds)) {
      const last = saved[name];
      this.values.set(name, last ? live(last, 'snapshot') : live({ ...seed, allow: [], deny: [] }, 'seed'));
    }
    this.data = failFastRedis(redisUrl, 'gateway-flags', log) as Redis & FlagCommands;
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

  /** The value a request is decided on; synchronous and allocation-free. */
  get(name: string): LiveFlag | undefined {
    return this.values.get(name);
  }

  names(): string[] {
    return [...this.values.keys()];
  }

  /** True while Redis is reachable and invalidations are flowing. */
  isConnected(): boolean {
    return this.inSync;
  }

  async update(name: string, change: FlagChange, by: string): Promise<HistoryEntry> {
    return this.write(name, changeToHash(change), by);
  }

  /** Stores a flag's shadow settings (fields of its hash, recorded in its history like any change). */
  async updateShadow(name: string, settings: ShadowSettings, by: string): Promise<HistoryEntry> {
    return this.write(name, shadowFields(settings), by);
  }

  /** Sets some fields of a flag's hash and records the change in its history, in one Lua step. */
  private async write(name: string, fields: Record<string, string>, by: string): Promise<HistoryEntry> {
    const current = this.values.get(name);
    if (!current) throw new Error(`unknown flag ${name}`);
    const entry = await this.command(() =>
      this.data.updateFlag(
        flagKey(name),
        historyKey(name),
        new Date().toISOString(),
        by,
        String(HISTORY_LIMIT),
        JSON.stringify(toHash(current.value)),
        ...pairs(fields),
      ),
    );
    // The entry the script just wrote, so always readable.
    const parsed = parseHistoryEntry(entry)!;
    // Our own invalidation follows within a round trip; applying it now makes the reply consistent.
    this.set(name, parsed.new);
    return parsed;
  }

  /** Every flag's value in force, as one document (GET /admin/flags/export). */
  export(): Record<string, FlagValue> {
    return Object.fromEntries([...this.values].map(([name, flag]) => [name, flag.value]));
  }

  /**
   * Writes whole values for several flags in one atomic step; a flag whose value is already stored is left
   * alone. Every name must be a known flag (the caller validates). Returns one history entry per change.
   */
  async import(values: Record<string, FlagValue>, by: string): Promise<Record<string, HistoryEntry>> {
    const names = Object.keys(values);
    const keys = names.flatMap((name) => [flagKey(name), historyKey(name)]);
    const entries = await this.command(() =>
      this.data.importFlags(
        keys.length,
        ...keys,
        new Date().toISOString(),
        by,
        String(HISTORY_LIMIT),
        JSON.stringify(names.map((name) => toHash(values[name]!))),
      ),
    );
    const changed: Record<string, HistoryEntry> = {};
    for (let i = 0; i + 1 < entries.length; i += 2) {
      const name = names[Number(entries[i]) - 1]!;
      const entry = parseHistoryEntry(entries[i + 1]!)!;
      changed[name] = entry;
      this.set(name, entry.new);
    }
    return changed;
  }

  async history(name: string): Promise<HistoryEntry[]> {
    const entries = await this.command(() => this.data.lrange(historyKey(name), 0, HISTORY_LIMIT - 1));
    return entries.map(parseHistoryEntry).filter((entry) => entry !== undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.inSync = false;
    await Promise.allSettled([this.data.quit(), this.invalidations.quit()]);
    this.data.disconnect();
    this.invalidations.disconnect();
    await this.snapshot?.flush();
  }

  private command<T>(run: () => Promise<T>): Promise<T> {
    return whileReady(this.data, unavailable, run);
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
      await this.data.client('TRACKING', 'ON', 'REDIRECT', String(redirect), 'BCAST', 'PREFIX', FLAG_PREFIX);
      for (const name of this.names()) await this.readFlag(name);
      if (!this.inSync)
        this.log.info({ flags: Object.fromEntries(this.values) }, 'flag store in sync with Redis');
      this.inSync = this.invalidationClientId === redirect && this.data.status === 'ready';
    } catch (error) {
      this.log.warn({ err: error }, 'flag store could not sync with Redis; will retry on reconnect');
    }
  }

  private invalidated(keys: unknown): void {
    // A null payload means Redis flushed everything (FLUSHALL, or tracking table overflow).
    const names = Array.isArray(keys)
      ? keys
          .map(String)
          .filter((key) => key.startsWith(FLAG_PREFIX))
          .map((key) => key.slice(FLAG_PREFIX.length))
      : this.names();
    for (const name of names) if (this.values.has(name)) void this.reread(name);
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
    const known = this.values.get(name)!;
    const restore = known.source !== 'seed';
    const [wrote, stored] = await this.data.readOrRestore(
      flagKey(name),
      historyKey(name),
      new Date().toISOString(),
      restore ? this.restoredBy : '',
      String(HISTORY_LIMIT),
      ...pairs(toHash(known.value)),
    );
    if (wrote && restore)
      this.log.warn(
        { flag: name, value: known.value, from: known.source },
        'flag was missing from Redis; wrote back the last known value',
      );
    else if (wrote) this.log.info({ flag: name, value: known.value }, 'flag seeded in Redis from the env');
    this.store(name, pairsToObject(stored));
  }

  private store(name: string, hash: Record<string, string>): void {
    let value: FlagValue | undefined;
    try {
      value = parseStoredFlag(hash);
    } catch (error) {
      this.log.error(
        { flag: name, err: error },
        'ignoring invalid flag value in Redis; keeping the last good one',
      );
      return;
    }
    // readFlag writes a missing hash back in the same step, so it is never empty here.
    if (!value) return;
    const known = this.values.get(name);
    let shadow = known?.shadow;
    try {
      shadow = parseShadowFields(hash);
    } catch (error) {
      this.log.error(
        { flag: name, err: error },
        'ignoring invalid shadow settings in Redis; keeping the last good ones',
      );
    }
    if (JSON.stringify(known?.value) !== JSON.stringify(value))
      this.log.info({ flag: name, from: known?.value, to: value }, 'flag changed');
    this.set(name, { ...value, ...(shadow && { shadow }) });
  }

  /** Takes a value read from (or just written to) Redis and keeps the snapshot file up to date. */
  private set(name: string, { shadow, ...value }: RecordedFlag): void {
    this.values.set(name, live(value, 'redis', shadow));
    if (!this.snapshot) return;
    const seen: Flags = {};
    for (const [flag, state] of this.values) if (state.source !== 'seed') seen[flag] = state.value;
    this.snapshot.save(seen);
  }
}

function pairsToObject(pairs: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) result[pairs[i]!] = pairs[i + 1]!;
  return result;
}

/**
 * One entry of the list, or undefined for one nobody can read (pushed by hand with redis-cli, say): it is
 * left out rather than failing the whole history. Entries written before allow/deny existed hold only
 * enabled and percent: still readable.
 */
function parseHistoryEntry(json: string): HistoryEntry | undefined {
  let raw: { at?: unknown; by?: unknown; old?: unknown; new?: unknown };
  try {
    raw = JSON.parse(json);
  } catch {
    return undefined;
  }
  const isHash = (value: unknown): value is Record<string, string> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  const now = isHash(raw?.new) ? recorded(raw.new) : undefined;
  if (typeof raw?.at !== 'string' || typeof raw.by !== 'string' || !now) return undefined;
  return { at: raw.at, by: raw.by, old: isHash(raw.old) ? (recorded(raw.old) ?? null) : null, new: now };
}

/** A hash from the history; shadow settings only where the hash has (usable) ones. */
function recorded(hash: Record<string, string>): RecordedFlag | undefined {
  const value = parseStoredFlag(hash);
  if (!value || !Object.keys(hash).some((field) => field.startsWith('shadow_'))) return value;
  try {
    return { ...value, shadow: parseShadowFields(hash) };
  } catch {
    return value;
  }
}
