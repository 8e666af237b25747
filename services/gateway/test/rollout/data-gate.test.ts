import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { dataStatusKey, verifyChannel } from '../../src/data/status.js';
import type { RolloutView } from '../../src/rollout/controls.js';
import { DedicatedRedis } from '../dedicated-redis.js';
import { bearer, operatorsFile, policyFor, startUpstream, testConfig } from '../helpers.js';
import { eventually } from './replicas.js';

// Issue 27's gate, end to end: a real gateway routing the movies flag (whose data domain is movies) on a
// Redis of the test's own (the shared one holds the running stack's movies flag and status document),
// with the status document written here as the movies-sync process would, under a loop of requests.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const FLAG = 'movies';

/** The status document, rewritten every 100 ms with a fresh updatedAt, as the sync process does. */
function statusWriter(redis: Redis) {
  const doc = {
    domain: 'movies',
    writes: 'monolith',
    source: { database: 'cinemaabyss', tables: ['movies', 'genres', 'movie_genres'] },
    target: { database: 'movies', table: 'movies' },
    connector: { name: 'cinemaabyss-movies', state: 'RUNNING' },
    lagMs: 9_000,
    lagP99Ms: 9_500,
    retainedWalBytes: 1_048_576,
    parity: {
      state: 'ok' as 'ok' | 'mismatch' | 'unknown',
      checkedAt: new Date(Date.now() - 60_000).toISOString(),
      rows: 1_000,
      mismatched: 0,
      missing: 0,
      extra: 0,
      sampleIds: [] as number[],
    },
    updatedAt: '',
  };
  const write = () =>
    redis.set(
      dataStatusKey('movies'),
      JSON.stringify({ ...doc, updatedAt: new Date().toISOString() }),
      'PX',
      30_000,
    );
  const timer = setInterval(() => void write().catch(() => {}), 100);
  cleanups.push(() => clearInterval(timer));
  return { doc, write };
}

async function gateway() {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-data-gate-'));
  const dedicated = await DedicatedRedis.create(dir, { persistent: false });
  await dedicated.start();
  cleanups.push(async () => {
    await dedicated.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const redis = new Redis(dedicated.url, { maxRetriesPerRequest: 1 });
  cleanups.push(() => void redis.disconnect());
  const [old, neu] = await Promise.all([startUpstream('monolith'), startUpstream('movies')]);
  cleanups.push(
    () => old.close(),
    () => neu.close(),
  );
  const config = testConfig({
    CLUSTER_COUNTERS_FLUSH_MS: '15',
    ROLLOUT_SETTLE_MS: '50',
    ROLLOUT_LEASE_MS: '240',
    ROLLOUT_RESOLUTION_MS: '50',
    ADMIN_TOKENS_FILE: operatorsFile({ alice: 'operator' }),
    REDIS_URL: dedicated.url,
  });
  const app = await buildApp(config, {
    policy: policyFor({ monolith: old.url, movies: neu.url, events: old.url }, FLAG, undefined, FLAG),
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => app.close());
  await eventually(
    async () =>
      (
        await fetch(`${url}/ready`)
          .then((r) => r.json() as Promise<{ status?: string }>)
          .catch(() => ({ status: 'down' }))
      ).status === 'ready',
    5_000,
    'the gateway to reach Redis',
  );
  const admin = async (method: string, path: string, body?: object) => {
    const res = await fetch(`${url}/admin/flags/${FLAG}${path}`, {
      method,
      headers: { ...bearer('alice'), ...(body && { 'content-type': 'application/json' }) },
      ...(body && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as RolloutView & { error: string } };
  };
  const view = async () => (await admin('GET', '/rollout')).body;
  /** Waits for the rollout to reach `check`; a timeout names the decisions taken so far. */
  const until = async (check: (view: RolloutView) => boolean, timeoutMs: number, what: string) => {
    try {
      await eventually(async () => check(await view()), timeoutMs, what);
    } catch (error) {
      const reasons = (await view()).decisions.map((d) => `${d.outcome}@${d.step}: ${d.reason}`);
      throw new Error(`${(error as Error).message}; decisions, newest first:\n${reasons.join('\n')}`);
    }
  };
  // Requests with a random user each, 8 in flight, until the test ends.
  let stopped = false;
  const worker = async () => {
    for (let sent = 0; !stopped && sent < 100_000; sent++)
      await fetch(`${url}/api/movies`, { headers: { 'x-user-id': Math.random().toString(36).slice(2) } })
        .then((res) => res.arrayBuffer())
        .catch(() => {});
  };
  const workers = Array.from({ length: 8 }, worker);
  cleanups.push(async () => {
    stopped = true;
    await Promise.all(workers);
  });
  return { url, redis, admin, view, until };
}

describe('a rollout gated on its data (real gateway and Redis)', { timeout: 20_000 }, () => {
  it('holds on lag, advances once parity passes, rolls back on a mismatch naming the ids', async () => {
    const g = await gateway();
    const status = statusWriter(g.redis);
    await status.write();
    // The parity passes the rollout asks the sync process for.
    const subscriber = g.redis.duplicate();
    cleanups.push(() => void subscriber.disconnect());
    const verifies: string[] = [];
    // Who asked: the `by` the sync process logs.
    subscriber.on('message', (_channel: string, message: string) => verifies.push(JSON.parse(message).by));
    await subscriber.subscribe(verifyChannel('movies'));
    const start = await g.admin('POST', '/rollout', {
      steps: [10, 50, 100],
      intervalMs: 400,
      minRequests: 10,
      latencyFloorMs: 1_000,
    });
    expect(start.status).toBe(201);
    // The movies flag's plan gets the default lag budget.
    expect(start.body.plan.maxDataLagMs).toBe(5_000);

    // Lag over budget, and parity last passed before the rollout began: it holds, saying both.
    const holds = (v: RolloutView) => v.decisions.filter((d) => d.outcome === 'hold');
    await g.until((v) => holds(v).length >= 2, 5_000, 'two holds');
    let view = await g.view();
    expect(view).toMatchObject({ state: 'running', step: 0, percent: 10 });
    const lagHold = holds(view).find((d) => d.reason.includes('lag 9000 ms > 5000 ms allowed'));
    expect(lagHold?.reason).toMatch(/data movies: parity not passed since the step began/);
    expect(lagHold?.numbers?.data).toMatchObject({ lagMs: 9_000, maxDataLagMs: 5_000, writes: 'monolith' });

    // Lag back in budget: still held on parity, until a pass after the step began.
    status.doc.lagMs = 40;
    await g.until(
      (v) => v.decisions[0]!.outcome === 'hold' && !v.decisions[0]!.reason.includes('lag'),
      3_000,
      'a hold on parity alone',
    );
    expect((await g.view()).decisions[0]!.reason).toMatch(
      /data movies: parity not passed since the step began/,
    );
    status.doc.parity.checkedAt = new Date().toISOString();
    await g.until((v) => v.step === 1, 3_000, 'the second step');
    view = await g.view();
    expect(view.decisions[0]).toMatchObject({ outcome: 'advance', step: 1, percent: 50 });
    expect(view.decisions[0]!.reason).toMatch(/; data movies: lag 40 ms \(limit 5000 ms\), parity ok at /);
    // Each hold on parity asked for a pass, and so did the advance, for the step it began.
    expect(verifies).toContain('rollout of movies at step 1');
    await eventually(
      () => verifies.includes('rollout of movies at step 2'),
      1_000,
      'a pass asked for step 2',
    );

    // The pass that let step 1 begin is older than it: step 1 holds until the next one, which finds a
    // row changed in the movies database: rolled back to 0 %, the ids in the decision.
    await g.until((v) => v.decisions[0]!.outcome === 'hold', 3_000, 'a hold at the second step');
    expect((await g.view()).decisions[0]!.reason).toMatch(
      /data movies: parity not passed since the step began/,
    );
    Object.assign(status.doc.parity, {
      state: 'mismatch',
      checkedAt: new Date().toISOString(),
      mismatched: 2,
      sampleIds: [777, 778],
    });
    await g.until((v) => v.state === 'rolled-back', 3_000, 'rolled back');
    view = await g.view();
    expect(view).toMatchObject({ state: 'rolled-back', step: 1, percent: 0 });
    expect(view.decisions[0]!.reason).toMatch(
      /^data movies: parity mismatch at \S+: 2 mismatched, 0 missing, 0 extra of 1 000 rows \(ids 777, 778\) while the monolith owns the writes$/,
    );
    expect(view.decisions[0]!.numbers?.data?.parity?.sampleIds).toEqual([777, 778]);
    const flag = await fetch(`${g.url}/admin/flags/${FLAG}`, { headers: bearer('alice') });
    expect(await flag.json()).toMatchObject({ percent: 0 });
  });
});
