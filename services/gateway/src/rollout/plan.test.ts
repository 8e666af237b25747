import { HttpError } from '@cinemaabyss/service-kit';
import { describe, expect, it } from 'vitest';
import { parsePlan } from './plan.js';

const refusal = (body: unknown) => {
  try {
    parsePlan(body);
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).statusCode).toBe(400);
    return (error as HttpError).message;
  }
  throw new Error('accepted');
};

describe('rollout plan', () => {
  it('fills the defaults of everything but steps', () => {
    expect(parsePlan({ steps: [5, 25, 50, 100] })).toEqual({
      steps: [5, 25, 50, 100],
      intervalMs: 60_000,
      minRequests: 200,
      maxErrorRateIncrease: 0.01,
      maxLatencyRatio: 1.5,
      latencyFloorMs: 50,
    });
    expect(parsePlan({ steps: [100], intervalMs: 100, maxMismatchRate: 0.02 })).toMatchObject({
      steps: [100],
      intervalMs: 100,
      maxMismatchRate: 0.02,
    });
  });

  it('refuses each bad body naming the field', () => {
    expect(refusal({ steps: [50, 25, 100] })).toBe('body.steps: must be strictly increasing');
    expect(refusal({ steps: [10, 10, 100] })).toBe('body.steps: must be strictly increasing');
    expect(refusal({ steps: [10, 50] })).toBe('body.steps: must end at 100');
    expect(refusal({ steps: [10, 100], intervalMs: 5 })).toBe('body.intervalMs: must be at least 100');
    expect(refusal({ steps: [10, 100], speed: 'fast' })).toBe('body: Unrecognized key: "speed"');
    expect(refusal({})).toMatch(/^body\.steps: /);
    expect(refusal({ steps: [0, 100] })).toBe('body.steps.0: must be at least 1');
    expect(refusal({ steps: [10.5, 100] })).toBe('body.steps.0: must be an integer from 1');
    expect(refusal({ steps: [10, 100], maxErrorRateIncrease: 2 })).toBe(
      'body.maxErrorRateIncrease: must be a fraction from 0 to 1',
    );
    expect(refusal({ steps: [10, 100], maxLatencyRatio: 0.5 })).toBe(
      'body.maxLatencyRatio: must be a number of at least 1',
    );
    expect(refusal({ steps: [10, 100], maxDataLagMs: -1 })).toBe('body.maxDataLagMs: must be at least 0');
    expect(refusal(null)).toMatch(/^body\.steps: /);
  });
});
