import { describe, expect, it } from 'vitest';
import { LagTracker } from './lag.js';

function tracker() {
  let now = 100_000;
  const lag = new LagTracker(1_000, 60_000, () => now);
  const at = (ms: number) => {
    now = ms;
  };
  return { lag, at };
}

describe('LagTracker', () => {
  it('reports nothing before the first unit', () => {
    const { lag } = tracker();
    expect(lag.lagMs()).toBeNull();
    expect(lag.lagP99Ms()).toBeNull();
  });

  it('is apply time minus commit time, steady while heartbeats keep arriving', () => {
    const { lag, at } = tracker();
    expect(lag.record(99_920)).toBe(80);
    at(100_500);
    expect(lag.lagMs()).toBe(80);
  });

  it('counts up once the source is silent for longer than a heartbeat interval', () => {
    const { lag, at } = tracker();
    lag.record(99_950);
    at(110_000);
    expect(lag.lagMs()).toBe(110_000 - 99_950 - 1_000);
  });

  it('gives the p99 of the lags measured within the window', () => {
    const { lag, at } = tracker();
    for (let i = 1; i <= 100; i++) {
      at(100_000 + i);
      lag.record(100_000 + i - i * 10);
    }
    expect(lag.lagP99Ms()).toBe(990);
    at(100_100 + 60_001);
    expect(lag.lagP99Ms()).toBeNull();
  });
});
