import { describe, expect, it } from 'vitest';
import type { DataStatus } from '../data/status.js';
import { type DataInput, judge, type SideWindow } from './judge.js';
import { parsePlan } from './plan.js';

const plan = parsePlan({ steps: [10, 50, 100], minRequests: 200 });
const side = (requests: number, errors: number, p99Ms: number): SideWindow => ({
  requests,
  errors,
  errorRate: requests > 0 ? errors / requests : 0,
  p99Ms,
});

describe('rollout judge', () => {
  it('advances when the new side is as good as the old, and says so with the numbers', () => {
    const verdict = judge(plan, { old: side(3_611, 4, 40), new: side(1_204, 2, 44) });
    expect(verdict.outcome).toBe('advance');
    expect(verdict.reason).toBe(
      'healthy: new 5xx 0.2 % (n=1 204) vs old 0.1 % (n=3 611); p99 44 ms vs 40 ms (limit 60 ms)',
    );
    expect(verdict.numbers).toMatchObject({ latencyLimitMs: 60, new: { requests: 1_204 } });
  });

  it('holds when either side saw fewer than minRequests, whatever the rest says', () => {
    const none = judge(plan, { old: side(0, 0, 0), new: side(0, 0, 0) });
    expect(none.outcome).toBe('hold');
    expect(none.reason).toBe('too little traffic: new n=0, old n=0 < 200 needed on each side');
    // Even a terrible new side is not judged on 199 requests.
    const few = judge(plan, { old: side(5_000, 0, 40), new: side(199, 199, 5_000) });
    expect(few.outcome).toBe('hold');
    expect(few.reason).toBe('too little traffic: new n=199 < 200 needed on each side');
    expect(judge(plan, { old: side(199, 0, 40), new: side(5_000, 0, 40) }).reason).toMatch(/old n=199/);
  });

  it('rolls back on an error-rate increase above the limit, naming rates and sample sizes', () => {
    const verdict = judge(plan, { old: side(3_611, 4, 40), new: side(1_204, 29, 40) });
    expect(verdict.outcome).toBe('rollback');
    expect(verdict.reason).toBe('new 5xx 2.4 % (n=1 204) vs old 0.1 % (n=3 611): increase 2.3 pp > 1 pp');
    // Exactly at the limit is still fine; errors on the old side raise the baseline.
    expect(judge(plan, { old: side(1_000, 0, 40), new: side(1_000, 10, 40) }).outcome).toBe('advance');
    expect(judge(plan, { old: side(1_000, 50, 40), new: side(1_000, 55, 40) }).outcome).toBe('advance');
  });

  it('rolls back when the new p99 exceeds max(floor, ratio x old p99), naming both', () => {
    const verdict = judge(plan, { old: side(1_000, 0, 40), new: side(1_000, 0, 812) });
    expect(verdict.outcome).toBe('rollback');
    expect(verdict.reason).toBe('p99 812 ms vs 40 ms: new above 60 ms = max(50 ms, 1.5 x old)');
    expect(judge(plan, { old: side(1_000, 0, 40), new: side(1_000, 0, 60) }).outcome).toBe('advance');
    expect(judge(plan, { old: side(1_000, 0, 200), new: side(1_000, 0, 340) }).reason).toMatch(
      /^p99 340 ms vs 200 ms: new above 300 ms/,
    );
  });

  it('applies the latency floor to fast baselines', () => {
    // 2 ms -> 40 ms is 20 x, but under the 50 ms floor.
    expect(judge(plan, { old: side(1_000, 0, 2), new: side(1_000, 0, 40) }).outcome).toBe('advance');
    expect(judge(plan, { old: side(1_000, 0, 2), new: side(1_000, 0, 51) }).outcome).toBe('rollback');
  });

  it('names every failed rule at once', () => {
    const verdict = judge(plan, { old: side(1_000, 0, 40), new: side(1_000, 200, 812) });
    expect(verdict.reason.split('; ')).toEqual([
      'new 5xx 20 % (n=1 000) vs old 0 % (n=1 000): increase 20 pp > 1 pp',
      'p99 812 ms vs 40 ms: new above 60 ms = max(50 ms, 1.5 x old)',
    ]);
  });

  describe('with maxMismatchRate', () => {
    const shadowed = parsePlan({ steps: [10, 100], maxMismatchRate: 0.001 });
    const healthy = { old: side(1_000, 0, 40), new: side(1_000, 0, 40) };

    it('rolls back above the rate, advances at or below it', () => {
      const verdict = judge(shadowed, healthy, { rate: 0.004, samples: 950 });
      expect(verdict.outcome).toBe('rollback');
      expect(verdict.reason).toBe('mismatch 0.4 % (n=950) > 0.1 %');
      expect(judge(shadowed, healthy, { rate: 0.001, samples: 950 }).reason).toMatch(
        /; mismatch 0.1 % \(n=950\)$/,
      );
    });

    it('holds without enough comparisons', () => {
      expect(judge(shadowed, healthy, { rate: 0.5, samples: 199 })).toMatchObject({
        outcome: 'hold',
        reason: 'too few shadow comparisons: n=199 < 200 needed',
      });
      expect(judge(shadowed, healthy).reason).toBe('too few shadow comparisons: none < 200 needed');
    });
  });

  describe('on a flag with a data domain', () => {
    const gated = parsePlan({ steps: [10, 100], maxDataLagMs: 5_000 });
    const healthy = { old: side(1_000, 0, 40), new: side(1_000, 0, 40) };
    const NOW = Date.parse('2026-12-08T03:00:10.000Z');
    const STEP = Date.parse('2026-12-08T03:00:00.000Z');
    const status = (changes: Partial<DataStatus> = {}, parity: Partial<DataStatus['parity']> = {}) =>
      ({
        domain: 'movies',
        writes: 'monolith',
        source: { database: 'cinemaabyss', tables: ['movies', 'genres', 'movie_genres'] },
        target: { database: 'movies', table: 'movies' },
        connector: { name: 'cinemaabyss-movies', state: 'RUNNING' },
        lagMs: 120,
        lagP99Ms: 300,
        retainedWalBytes: 0,
        updatedAt: '2026-12-08T03:00:09.000Z',
        ...changes,
        parity: {
          state: 'ok',
          checkedAt: '2026-12-08T03:00:05.000Z',
          rows: 100_000,
          mismatched: 0,
          missing: 0,
          extra: 0,
          sampleIds: [],
          ...parity,
        },
      }) satisfies DataStatus;
    const data = (reading: DataInput['reading']): DataInput => ({
      domain: 'movies',
      reading,
      nowMs: NOW,
      stepStartedAtMs: STEP,
    });

    it('advances with lag in budget and parity passed since the step began, saying so', () => {
      const verdict = judge(gated, healthy, undefined, data({ status: status() }));
      expect(verdict.outcome).toBe('advance');
      expect(verdict.parityWanted).toBeUndefined();
      expect(verdict.reason).toMatch(
        /; data movies: lag 120 ms \(limit 5000 ms\), parity ok at 2026-12-08T03:00:05.000Z \(n=100 000\)$/,
      );
      expect(verdict.numbers.data).toMatchObject({
        domain: 'movies',
        lagMs: 120,
        maxDataLagMs: 5_000,
        ageMs: 1_000,
        stepStartedAt: '2026-12-08T03:00:00.000Z',
        parity: { state: 'ok' },
      });
    });

    it('holds while the lag is over budget, with both numbers; at the budget it is fine', () => {
      const verdict = judge(gated, healthy, undefined, data({ status: status({ lagMs: 7_250 }) }));
      expect(verdict).toMatchObject({
        outcome: 'hold',
        reason: 'data movies: lag 7250 ms > 5000 ms allowed',
      });
      expect(verdict.numbers.data).toMatchObject({ lagMs: 7_250, maxDataLagMs: 5_000 });
      expect(judge(gated, healthy, undefined, data({ status: status({ lagMs: 5_000 }) })).outcome).toBe(
        'advance',
      );
      expect(judge(gated, healthy, undefined, data({ status: status({ lagMs: null }) })).reason).toBe(
        'data movies: lag not measured yet',
      );
    });

    it('holds on a missing or unreadable document', () => {
      const verdict = judge(gated, healthy, undefined, data({ absent: true, problem: 'no status document' }));
      expect(verdict).toMatchObject({ outcome: 'hold', reason: 'data movies: no status document' });
      expect(verdict.numbers.data).toEqual({
        domain: 'movies',
        maxDataLagMs: 5_000,
        stepStartedAt: '2026-12-08T03:00:00.000Z',
      });
    });

    it('holds on a stale document (older than 10 s)', () => {
      const stale = status({ updatedAt: '2026-12-08T02:59:59.000Z' });
      expect(judge(gated, healthy, undefined, data({ status: stale }))).toMatchObject({
        outcome: 'hold',
        reason: 'data movies: status stale: updated 11 s ago > 10 s',
      });
      const fresh = status({ updatedAt: '2026-12-08T03:00:00.000Z' });
      expect(judge(gated, healthy, undefined, data({ status: fresh })).outcome).toBe('advance');
    });

    it('holds until parity has passed since the step began', () => {
      const before = status({}, { checkedAt: '2026-12-08T02:59:59.999Z' });
      expect(judge(gated, healthy, undefined, data({ status: before }))).toMatchObject({
        outcome: 'hold',
        parityWanted: true,
        reason:
          'data movies: parity not passed since the step began at 2026-12-08T03:00:00.000Z (last: ok at 2026-12-08T02:59:59.999Z)',
      });
      const unknown = status({}, { state: 'unknown', checkedAt: null });
      expect(judge(gated, healthy, undefined, data({ status: unknown })).reason).toBe(
        'data movies: parity not passed since the step began at 2026-12-08T03:00:00.000Z (last: unknown)',
      );
    });

    it('rolls back on a parity mismatch while the monolith owns writes, naming the sample ids', () => {
      const mismatch = status({}, { state: 'mismatch', mismatched: 2, missing: 1, sampleIds: [777, 778] });
      // Even without enough traffic to judge the traffic.
      const quiet = { old: side(0, 0, 0), new: side(0, 0, 0) };
      const verdict = judge(gated, quiet, undefined, data({ status: mismatch }));
      expect(verdict.outcome).toBe('rollback');
      expect(verdict.reason).toBe(
        'data movies: parity mismatch at 2026-12-08T03:00:05.000Z: 2 mismatched, 1 missing, 0 extra of 100 000 rows (ids 777, 778) while the monolith owns the writes',
      );
      expect(verdict.numbers.data?.parity).toMatchObject({ state: 'mismatch', sampleIds: [777, 778] });
      // Once the movies service owns the writes, the monolith's copy is no longer the reference.
      const moved = status({ writes: 'movies' }, { state: 'mismatch', sampleIds: [777] });
      expect(judge(gated, healthy, undefined, data({ status: moved }))).toMatchObject({ outcome: 'hold' });
    });

    it('names every data hold at once, after the traffic rules (which still roll back first)', () => {
      const bad = status({ lagMs: 9_000, updatedAt: '2026-12-08T02:59:00.000Z' }, { state: 'unknown' });
      expect(judge(gated, healthy, undefined, data({ status: bad })).reason.split('; ')).toEqual([
        'data movies: status stale: updated 70 s ago > 10 s',
        'data movies: lag 9000 ms > 5000 ms allowed',
        'data movies: parity not passed since the step began at 2026-12-08T03:00:00.000Z (last: unknown at 2026-12-08T03:00:05.000Z)',
      ]);
      const errors = { old: side(1_000, 0, 40), new: side(1_000, 200, 40) };
      expect(judge(gated, errors, undefined, data({ status: bad })).outcome).toBe('rollback');
      expect(
        judge(gated, { old: side(0, 0, 0), new: side(0, 0, 0) }, undefined, data({ status: bad })).reason,
      ).toMatch(/^too little traffic: .*; data movies: status stale/);
    });
  });
});
