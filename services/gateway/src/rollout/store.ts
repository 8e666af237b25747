import {
  type DecisionEntry,
  ROLLOUT_STATES,
  type RolloutPlan,
  type RolloutState,
} from '@cinemaabyss/admin-contract';
import type { Redis } from 'ioredis';
import { type Lease, leaseKey } from './lease.js';

export { type DecisionEntry, ROLLOUT_STATES, type RolloutState };

export interface Rollout {
  flag: string;
  state: RolloutState;
  step: number;
  percent: number;
  plan: RolloutPlan;
  startedAt: string;
  /** The current analysis window starts here and is judged at nextDecisionAt (ms since the epoch). */
  windowStartMs: number;
  nextDecisionAtMs: number;
  /** Bumped by every transition that changes the percent; `applied` is the last one written to the flag. */
  version: number;
  applied: number;
  updatedAtMs: number;
}

/** A compare-and-set transition: applied only while the rollout is in one of `from.states` at `from.step`. */
export interface Transition {
  from: { states: RolloutState[]; step: number };
  to: { state: RolloutState; step: number; percent: number; windowStartMs: number; nextDecisionAtMs: number };
  changesPercent: boolean;
  entry: DecisionEntry;
}

export type TransitionResult = { ok: true; version: number } | { ok: false; why: 'fenced' | 'conflict' };

const PREFIX = 'cinemaabyss:rollout:';
const hashKey = (flag: string) => `${PREFIX}${flag}`;
const decisionsKey = (flag: string) => `cinemaabyss:rollout-decisions:${flag}`;

// A new rollout unless one is running or paused; the version carries on so stale acknowledgements of an
// earlier rollout's percent never match. KEYS: hash, decisions. ARGV: fields as JSON, entry.
// Returns '' when started, else the blocking state.
const START = `
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'running' or state == 'paused' then return state end
local version = (tonumber(redis.call('HGET', KEYS[1], 'version')) or 0) + 1
redis.call('DEL', KEYS[1], KEYS[2])
local fields = cjson.decode(ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'running', 'step', '0', 'percent', fields.percent, 'plan', fields.plan,
  'startedAt', fields.startedAt, 'windowStartMs', fields.windowStartMs, 'nextDecisionAtMs', fields.nextDecisionAtMs,
  'version', version, 'applied', version - 1, 'updatedAtMs', fields.windowStartMs)
redis.call('LPUSH', KEYS[2], ARGV[2])
return ''`;

// KEYS: hash, decisions, lease. ARGV: lease value ('' for an operator), allowed states (,a,b,), step,
// new state, new step, new percent, window start, next decision, bump version (1/0), entry, list limit,
// now. Returns the version, or 'fenced' / 'conflict'.
const TRANSITION = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then return 'fenced' end
local current = redis.call('HMGET', KEYS[1], 'state', 'step', 'version')
if not current[1] or not string.find(ARGV[2], ',' .. current[1] .. ',', 1, true) or current[2] ~= ARGV[3] then
  return 'conflict'
end
local version = tonumber(current[3])
if ARGV[9] == '1' then version = version + 1 end
redis.call('HSET', KEYS[1], 'state', ARGV[4], 'step', ARGV[5], 'percent', ARGV[6], 'windowStartMs', ARGV[7],
  'nextDecisionAtMs', ARGV[8], 'version', version, 'updatedAtMs', ARGV[12])
redis.call('LPUSH', KEYS[2], ARGV[10])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[11]) - 1)
return tostring(version)`;

// Records that the flag now holds the percent of `version`, unless a newer transition came first.
const MARK_APPLIED = `
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'applied', ARGV[1])
return 1`;

interface StoreCommands {
  rolloutStart(hash: string, decisions: string, ...args: string[]): Promise<string>;
  rolloutTransition(hash: string, decisions: string, lease: string, ...args: string[]): Promise<string>;
  rolloutMarkApplied(hash: string, version: string): Promise<number>;
}

/**
 * Every rollout's state in Redis, so restarting every gateway loses nothing. Each change is one Lua
 * script: a compare-and-set on state and step (so two writers never both take a step), fenced by the
 * driver's lease when the driver writes.
 */
export class RolloutStore {
  private readonly redis: Redis & StoreCommands;

  constructor(
    redis: Redis,
    private readonly decisionsLimit = 100,
  ) {
    this.redis = redis as Redis & StoreCommands;
    this.redis.defineCommand('rolloutStart', { numberOfKeys: 2, lua: START });
    this.redis.defineCommand('rolloutTransition', { numberOfKeys: 3, lua: TRANSITION });
    this.redis.defineCommand('rolloutMarkApplied', { numberOfKeys: 1, lua: MARK_APPLIED });
  }

  /** Starts at the first step; returns the state that blocks it (running or paused) if there is one. */
  async start(flag: string, plan: RolloutPlan, by: string, nowMs: number): Promise<RolloutState | undefined> {
    const percent = plan.steps[0]!;
    const entry: DecisionEntry = {
      at: new Date(nowMs).toISOString(),
      step: 0,
      percent,
      outcome: 'start',
      reason: `started: steps ${plan.steps.join(', ')} %, ${plan.intervalMs} ms each`,
      by,
    };
    const fields = {
      percent: String(percent),
      plan: JSON.stringify(plan),
      startedAt: entry.at,
      windowStartMs: String(nowMs),
      nextDecisionAtMs: String(nowMs + plan.intervalMs),
    };
    const blocking = await this.redis.rolloutStart(
      hashKey(flag),
      decisionsKey(flag),
      JSON.stringify(fields),
      JSON.stringify(entry),
    );
    return blocking === '' ? undefined : (blocking as RolloutState);
  }

  async get(flag: string): Promise<Rollout | undefined> {
    const hash = await this.redis.hgetall(hashKey(flag));
    if (!hash.state) return undefined;
    return {
      flag,
      state: hash.state as RolloutState,
      step: Number(hash.step),
      percent: Number(hash.percent),
      plan: JSON.parse(hash.plan!) as RolloutPlan,
      startedAt: hash.startedAt!,
      windowStartMs: Number(hash.windowStartMs),
      nextDecisionAtMs: Number(hash.nextDecisionAtMs),
      version: Number(hash.version),
      applied: Number(hash.applied),
      updatedAtMs: Number(hash.updatedAtMs),
    };
  }

  async decisions(flag: string): Promise<DecisionEntry[]> {
    const entries = await this.redis.lrange(decisionsKey(flag), 0, this.decisionsLimit - 1);
    return entries.map((entry) => JSON.parse(entry) as DecisionEntry);
  }

  /** Applies `transition` atomically, only if the rollout is still where the caller read it (and, with a lease, only while it is held). */
  async transition(flag: string, transition: Transition, lease?: Lease): Promise<TransitionResult> {
    const { from, to } = transition;
    const result = await this.redis.rolloutTransition(
      hashKey(flag),
      decisionsKey(flag),
      lease?.key ?? leaseKey(flag),
      lease?.value ?? '',
      `,${from.states.join(',')},`,
      String(from.step),
      to.state,
      String(to.step),
      String(to.percent),
      String(to.windowStartMs),
      String(to.nextDecisionAtMs),
      transition.changesPercent ? '1' : '0',
      JSON.stringify(transition.entry),
      String(this.decisionsLimit),
      String(Date.now()),
    );
    if (result === 'fenced' || result === 'conflict') return { ok: false, why: result };
    return { ok: true, version: Number(result) };
  }

  /** True when `version` is still current and is now marked as written to the flag. */
  async markApplied(flag: string, version: number): Promise<boolean> {
    return (await this.redis.rolloutMarkApplied(hashKey(flag), String(version))) === 1;
  }
}
