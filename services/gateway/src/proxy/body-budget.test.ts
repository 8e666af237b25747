import { describe, expect, it } from 'vitest';
import { BodyBudget } from './body-budget.js';

const refusals = (budget: BodyBudget) =>
  budget.metricFamilies().find((family) => family.name === 'gateway_body_budget_refusals_total')!.samples[0]!
    .value;

describe('the budget of buffered request bodies', () => {
  it('takes Content-Length bytes until the next body would pass the limit, and frees them on release', () => {
    const budget = new BodyBudget(2_500, 1_000);
    expect(budget.take({ 'content-length': '1000' })).toBe(1_000);
    expect(budget.take({ 'content-length': '1000' })).toBe(1_000);
    expect(budget.used).toBe(2_000);
    // 2 000 + 600 > 2 500: refused and counted, nothing taken.
    expect(budget.take({ 'content-length': '600' })).toBeUndefined();
    expect(budget.used).toBe(2_000);
    expect(refusals(budget)).toBe(1);
    // Exactly up to the limit still fits.
    expect(budget.take({ 'content-length': '500' })).toBe(500);
    expect(budget.used).toBe(2_500);
    budget.release(1_000);
    budget.release(500);
    expect(budget.take({ 'content-length': '900' })).toBe(900);
    budget.release(1_000);
    budget.release(900);
    expect(budget.used).toBe(0);
  });

  it('lets requests without a body through even when the budget is spent', () => {
    const budget = new BodyBudget(1_000, 1_000);
    expect(budget.take({ 'content-length': '1000' })).toBe(1_000);
    expect(budget.take({})).toBe(0);
    expect(budget.take({ 'content-length': '0' })).toBe(0);
    expect(refusals(budget)).toBe(0);
    expect(budget.used).toBe(1_000);
  });

  it('reserves the body limit for a chunked body, whose size is unknown until read', () => {
    const budget = new BodyBudget(2_000, 1_000);
    expect(budget.take({ 'transfer-encoding': 'chunked' })).toBe(1_000);
    expect(budget.take({ 'content-length': '1001' })).toBe(1_000);
    expect(budget.take({ 'transfer-encoding': 'chunked' })).toBeUndefined();
    expect(budget.metricFamilies().find((f) => f.name === 'gateway_buffered_request_bytes')!.samples).toEqual(
      [{ value: 2_000 }],
    );
  });
});
