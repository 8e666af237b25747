import { describe, expect, it } from 'vitest';
import { type ProcessedEvent, RecentEvents } from './recent.js';

const event = (id: string, type: ProcessedEvent['type']): ProcessedEvent => ({
  id,
  type,
  timestamp: '2026-01-01T00:00:00Z',
  payload: {},
  topic: `${type}-events`,
  partition: 0,
  offset: id,
  processed_at: '2026-01-01T00:00:00Z',
  produce_to_consume_ms: 1,
});

describe('RecentEvents', () => {
  it('returns the newest first, filtered by type and limited', () => {
    const recent = new RecentEvents(10);
    for (const [i, type] of (['movie', 'user', 'movie', 'payment', 'movie'] as const).entries())
      recent.add(event(String(i), type));
    expect(recent.latest(10).map((e) => e.id)).toEqual(['4', '3', '2', '1', '0']);
    expect(recent.latest(2, 'movie').map((e) => e.id)).toEqual(['4', '2']);
  });

  it('forgets the oldest once full', () => {
    const recent = new RecentEvents(3);
    for (let i = 0; i < 5; i++) recent.add(event(String(i), 'user'));
    expect(recent.latest(10).map((e) => e.id)).toEqual(['4', '3', '2']);
  });
});

describe('RecentEvents in bytes', () => {
  it('forgets the oldest once their bytes exceed the budget, and keeps nothing larger than it', () => {
    const recent = new RecentEvents(100, 3 * (1000 + 256));
    for (let i = 0; i < 5; i++) recent.add(event(String(i), 'movie'), 1000);
    expect(recent.latest(10).map((e) => e.id)).toEqual(['4', '3', '2']);
    expect(recent.size()).toBe(3 * (1000 + 256));
    recent.add(event('huge', 'movie'), 10_000);
    expect(recent.latest(10).map((e) => e.id)).toEqual(['4', '3', '2']);
    recent.add(event('5', 'movie'), 2000);
    expect(recent.latest(10).map((e) => e.id)).toEqual(['5', '4']);
  });
});
