import type { FastifyBaseLogger } from 'fastify';
import { RedisUnavailableError, whileReady } from '../redis/connection.js';
import { HISTORY_LIMIT, type HistoryEntry, parseHistoryEntry, type RecordedFlag } from './history.js';
import {
  changeToHash,
  type FlagChange,
  type FlagValue,
  fieldPairs,
  flagKey,
  historyKey,
  type LiveFlag,
  live,
  parseShadowFields,
  parseStoredFlag,
  type ShadowSettings,
  shadowFields,
  toHash,
} from './record.js';
import { type Flags, SnapshotFile } from './snapshot.js';
import { FlagSync, type SyncedFlags } from './sync.js';

export { flagKey, HISTORY_LIMIT, type HistoryEntry, historyKey };

const unavailable = () => new RedisUnavailableError('flag store');

/**
 * The flag values every request is decided on, held in memory (reading one on the request path is a Map
 * lookup) and kept current by FlagSync (sync.ts); and the operators' commands on them, each one atomic
 * step in Redis that also records the change in the flag's history.
 *
 * Redis down: the last known values stay in force (at start-up: the snapshot file's, else the seeds),
 * requests never wait on Redis, and a command is a RedisUnavailableError (503).
 */
export class FlagStore implements SyncedFlags {
  private readonly values = new Map<string, LiveFlag>();
  private readonly snapshot: SnapshotFile | undefined;
  private readonly sync: FlagSync;

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
    this.sync = new FlagSync(redisUrl, this, log);
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
    return this.sync.isConnected();
  }

  async update(name: string, change: FlagChange, by: string): Promise<HistoryEntry> {
    return this.write(name, changeToHash(change), by);
  }

  /** Stores a flag's shadow settings (fields of its hash, recorded in its history like any change). */
  async updateShadow(name: string, settings: ShadowSettings, by: string): Promise<HistoryEntry> {
    return this.write(name, shadowFields(settings), by);
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
    const entries = await this.command((data) =>
      data.importFlags(
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
    const entries = await this.command((data) => data.lrange(historyKey(name), 0, HISTORY_LIMIT - 1));
    return entries.map(parseHistoryEntry).filter((entry) => entry !== undefined);
  }

  async close(): Promise<void> {
    await this.sync.close();
    await this.snapshot?.flush();
  }

  /** A flag's hash as read from Redis: its value and shadow settings, each kept as last good if unusable. */
  received(name: string, hash: Record<string, string>): void {
    // readFlag writes a missing hash back in the same step, so it is never empty here.
    const value = this.parsed(name, 'flag value', () => parseStoredFlag(hash));
    if (!value) return;
    const known = this.values.get(name);
    const shadow = this.parsed(name, 'shadow settings', () => parseShadowFields(hash)) ?? known?.shadow;
    if (JSON.stringify(known?.value) !== JSON.stringify(value))
      this.log.info({ flag: name, from: known?.value, to: value }, 'flag changed');
    this.set(name, { ...value, ...(shadow && { shadow }) });
  }

  /** A part of a flag's hash, or undefined when it is unusable: logged, and the last good one stays. */
  private parsed<T>(name: string, what: string, parse: () => T): T | undefined {
    try {
      return parse();
    } catch (error) {
      this.log.error(
        { flag: name, err: error },
        `ignoring invalid ${what} in Redis; the last good one stays in force`,
      );
      return undefined;
    }
  }

  /** Sets some fields of a flag's hash and records the change in its history, in one Lua step. */
  private async write(name: string, fields: Record<string, string>, by: string): Promise<HistoryEntry> {
    const current = this.values.get(name);
    if (!current) throw new Error(`unknown flag ${name}`);
    const entry = await this.command((data) =>
      data.updateFlag(
        flagKey(name),
        historyKey(name),
        new Date().toISOString(),
        by,
        String(HISTORY_LIMIT),
        JSON.stringify(toHash(current.value)),
        ...fieldPairs(fields),
      ),
    );
    // The entry the script just wrote, so always readable.
    const parsed = parseHistoryEntry(entry)!;
    // Our own invalidation follows within a round trip; applying it now makes the reply consistent.
    this.set(name, parsed.new);
    return parsed;
  }

  private command<T>(run: (data: FlagSync['data']) => Promise<T>): Promise<T> {
    return whileReady(this.sync.data, unavailable, () => run(this.sync.data));
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
