import type { Redis } from 'ioredis';

export const leaseKey = (flag: string) => `cinemaabyss:rollout-lease:${flag}`;
const fenceKey = (flag: string) => `cinemaabyss:rollout-fence:${flag}`;

/** A held lease: its value `<holder> <token>` is what every fenced write compares against. */
export interface Lease {
  readonly flag: string;
  readonly key: string;
  readonly value: string;
  /** Incremented on every acquisition, so even the same holder's earlier tenure is fenced off. */
  readonly token: number;
}

// Takes a free lease with a fresh fencing token, or extends our own. KEYS: lease, fence.
// ARGV: holder, ttl ms, value we hold ('' if none). Returns the value held, or false.
const ACQUIRE_OR_RENEW = `
local current = redis.call('GET', KEYS[1])
if current and current == ARGV[3] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return current
end
if current then return false end
local value = ARGV[1] .. ' ' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], value, 'PX', ARGV[2], 'NX')
return value`;

// Deletes the lease only if we still hold it. KEYS: lease. ARGV: value.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface LeaseCommands {
  rolloutAcquireOrRenew(
    lease: string,
    fence: string,
    holder: string,
    ttl: string,
    held: string,
  ): Promise<string | null>;
  rolloutRelease(lease: string, value: string): Promise<number>;
}

/**
 * One replica drives a rollout at a time: the holder of a Redis lease that expires unless renewed. A
 * holder that stops (crash, GC pause, partition) loses it after `ttlMs`, and another replica renewing
 * every ttlMs / 3 takes over within two lease periods. A lost lease is noticed at the latest by the
 * next fenced write, which Redis refuses.
 */
export class Leases {
  private readonly redis: Redis & LeaseCommands;

  constructor(
    redis: Redis,
    private readonly holder: string,
    readonly ttlMs: number,
  ) {
    if (/\s/.test(holder)) throw new Error(`lease holder id must not contain spaces: "${holder}"`);
    this.redis = redis as Redis & LeaseCommands;
    this.redis.defineCommand('rolloutAcquireOrRenew', { numberOfKeys: 2, lua: ACQUIRE_OR_RENEW });
    this.redis.defineCommand('rolloutRelease', { numberOfKeys: 1, lua: RELEASE });
  }

  /** Renews `held` if it is still ours, else tries to take the lease; undefined when another holds it. */
  async acquire(flag: string, held?: Lease): Promise<Lease | undefined> {
    const key = leaseKey(flag);
    const value = await this.redis.rolloutAcquireOrRenew(
      key,
      fenceKey(flag),
      this.holder,
      String(this.ttlMs),
      held?.value ?? '',
    );
    if (!value) return undefined;
    if (value === held?.value) return held;
    return { flag, key, value, token: Number(value.slice(value.lastIndexOf(' ') + 1)) };
  }

  async release(lease: Lease): Promise<void> {
    await this.redis.rolloutRelease(lease.key, lease.value);
  }
}
