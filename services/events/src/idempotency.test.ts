import { describe, expect, it } from 'vitest';
import { ProcessedIds } from './dedupe.js';
import { type KeyRecord, MemoryIdempotencyStore } from './idempotency.js';

const record = (eventId: string, state: KeyRecord['state'] = 'pending'): KeyRecord => ({
  eventId,
  timestamp: '2026-01-01T00:00:00.000Z',
  fingerprint: 'f',
  state,
  since: 0,
});

describe('MemoryIdempotencyStore', () => {
  it('claims a free key once, and replaces a record only from what it holds', async () => {
    const store = new MemoryIdempotencyStore(60_000, 1_000_000);
    expect(await store.claim('k', record('a'))).toBeUndefined();
    expect(await store.claim('k', record('b'))).toEqual(record('a'));
    expect(await store.replace('k', record('b'), record('b', 'published'))).toBe(false);
    expect(await store.replace('k', record('a'), record('a', 'published'))).toBe(true);
    expect(await store.get('k')).toEqual(record('a', 'published'));
  });

  it('forgets a key after the window, and the oldest keys once over its bytes', async () => {
    let now = 0;
    const store = new MemoryIdempotencyStore(1_000, 2_000, () => now);
    await store.claim('old', record('a'));
    now = 1_000;
    expect(await store.get('old')).toBeUndefined();
    for (let i = 0; i < 20; i++) await store.claim(`k${i}`, record(`e${i}`));
    expect(store.size()).toBeLessThanOrEqual(2_000);
    expect(await store.get('k0')).toBeUndefined();
    expect(await store.get('k19')).toEqual(record('e19'));
  });
});

describe('ProcessedIds', () => {
  it('recognises an id seen before, and forgets the oldest once over its bytes', () => {
    const ids = new ProcessedIds(1_000);
    expect(ids.seen('a')).toBe(false);
    expect(ids.seen('a')).toBe(true);
    for (let i = 0; i < 50; i++) ids.seen(`id-${i}`);
    expect(ids.size()).toBeLessThanOrEqual(1_000);
    expect(ids.seen('a')).toBe(false); // forgotten, so new again
    expect(ids.seen('id-49')).toBe(true);
  });
});
