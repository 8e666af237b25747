import { describe, expect, it } from 'vitest';
import { judge, type SideWindow } from './judge.js';
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
});
