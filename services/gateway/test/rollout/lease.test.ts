import { afterAll, describe, expect, it } from 'vitest';
import { type Lease, Leases } from '../../src/rollout/lease.js';
import { parsePlan } from '../../src/rollout/plan.js';
import { RolloutStore, type Transition } from '../../src/rollout/store.js';
import { uniqueFlag, waitFor } from '../helpers.js';
import { connect, ready } from './replicas.js';

const connections = [connect(), connect()];
afterAll(() => {
  for (const redis of connections) redis.disconnect();
});

const hold = (step: number, reason: string): Transition => ({
  from: { states: ['running'], step },
  to: { state: 'running', step, percent: 10, windowStartMs: 0, nextDecisionAtMs: 1 },
  changesPercent: false,
  entry: { at: new Date().toISOString(), step, percent: 10, outcome: 'hold', reason },
});

describe('rollout lease and fencing (real Redis)', () => {
  it('has one holder at a time; a stale holder can never write, a new token fences off the old', async () => {
    await Promise.all(connections.map(ready));
    const [a, b] = connections as [(typeof connections)[0], (typeof connections)[0]];
    const flag = uniqueFlag();
    const ttlMs = 150;
    const first = new Leases(a, 'replica-a', ttlMs);
    const second = new Leases(b, 'replica-b', ttlMs);
    const store = new RolloutStore(a);
    expect(
      await store.start(flag, parsePlan({ steps: [10, 100], intervalMs: 100 }), 'tester', Date.now()),
    ).toBe(undefined);

    const leaseA = await first.acquire(flag);
    expect(leaseA).toBeDefined();
    expect(await second.acquire(flag)).toBeUndefined();
    // Renewal keeps the same lease and token.
    expect(await first.acquire(flag, leaseA)).toBe(leaseA);
    expect(await store.transition(flag, hold(0, 'by a'), leaseA)).toEqual({ ok: true, version: 1 });

    // A stops renewing (a GC pause): B takes over after the lease runs out, within two periods.
    let leaseB: Lease | undefined;
    const waited = await waitFor(
      async () => {
        leaseB = await second.acquire(flag);
        return leaseB !== undefined;
      },
      2 * ttlMs,
      'takeover',
    );
    expect(waited).toBeLessThan(2 * ttlMs);
    if (!leaseB) throw new Error('unreachable');
    expect(leaseB.token).toBeGreaterThan(leaseA!.token);

    // A wakes up: neither its renewal nor any write goes through.
    expect(await first.acquire(flag, leaseA)).toBeUndefined();
    expect(await store.transition(flag, hold(0, 'stale a'), leaseA)).toEqual({ ok: false, why: 'fenced' });
    expect(await store.transition(flag, hold(0, 'by b'), leaseB)).toEqual({ ok: true, version: 1 });
    expect((await store.decisions(flag)).map((d) => d.reason)).toEqual([
      'by b',
      'by a',
      expect.stringMatching(/^started/),
    ]);

    // Releasing hands over at once, with a fresh token even for the same replica.
    await second.release(leaseB);
    const again = (await first.acquire(flag))!;
    expect(again.token).toBe(leaseB.token + 1);
    expect(await store.transition(flag, hold(0, 'stale b'), leaseB)).toEqual({ ok: false, why: 'fenced' });
    // Releasing a lease we no longer hold leaves the holder's alone.
    await second.release(leaseB);
    expect(await first.acquire(flag, again)).toBe(again);
  });

  it('refuses a transition from a step or state the rollout is no longer in', async () => {
    const [a] = connections as [(typeof connections)[0]];
    const flag = uniqueFlag();
    const store = new RolloutStore(a);
    await store.start(flag, parsePlan({ steps: [10, 100], intervalMs: 100 }), 'tester', Date.now());
    const lease = (await new Leases(a, 'replica-a', 1_000).acquire(flag))!;
    expect(await store.transition(flag, hold(1, 'wrong step'), lease)).toEqual({
      ok: false,
      why: 'conflict',
    });
    expect(await store.start(flag, parsePlan({ steps: [100] }), 'tester', Date.now())).toBe('running');
  });
});
