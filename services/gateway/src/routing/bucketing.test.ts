import { describe, expect, it } from 'vitest';
import { bucketOf, goesToNew, murmurhash3 } from './bucketing.js';

describe('murmurhash3 (x86, 32-bit)', () => {
  it('matches the reference MurmurHash3_x86_32 outputs', () => {
    // Well-known outputs of Austin Appleby's reference implementation (SMHasher).
    expect(murmurhash3('', 0)).toBe(0);
    expect(murmurhash3('', 1)).toBe(0x514e28b7);
    expect(murmurhash3('a', 0)).toBe(1009084850);
    expect(murmurhash3('abc', 0)).toBe(3017643002);
    expect(murmurhash3('abcd', 0)).toBe(1139631978);
    expect(murmurhash3('Hello, world!', 1234)).toBe(0xfaf6cdb3);
  });
});

describe('Unleash compatibility', () => {
  it('gives the normalized values Unleash SDKs agree on', () => {
    // From Unleash/unleash-client-node, test "normalized values are the same across node, java, and
    // go clients": normalizedStrategyValue('123', 'gr1') === 73, ('999', 'groupX') === 25.
    expect(bucketOf('gr1', '123')).toBe(73);
    expect(bucketOf('groupX', '999')).toBe(25);
  });

  it('decides like the client specification gradual rollout cases', () => {
    // Unleash/client-specification, specifications/03-gradual-rollout-user-id-strategy.json:
    // groupId AB12A at 50 %: userId 122 enabled, 155 disabled; 100 % enabled, 0 % disabled.
    expect(goesToNew('AB12A', 50, '122')).toBe(true);
    expect(goesToNew('AB12A', 50, '155')).toBe(false);
    expect(goesToNew('AB12A', 100, '123')).toBe(true);
    expect(goesToNew('AB12A', 0, '122')).toBe(false);
  });
});

describe('split', () => {
  // A seeded generator keeps the random split reproducible, so the ±2 % bound cannot flake.
  const seeded = (seed: number) => () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };

  for (const percent of [0, 20, 50, 80, 100]) {
    it(`sends ${percent} % ±2 of 10 000 anonymous and of 10 000 named requests to the new service`, () => {
      const random = seeded(percent + 1);
      let anonymous = 0;
      let named = 0;
      for (let i = 0; i < 10_000; i++) {
        if (goesToNew('movies', percent, undefined, random)) anonymous++;
        if (goesToNew('movies', percent, `user-${i}`)) named++;
      }
      for (const count of [anonymous, named]) {
        if (percent === 0 || percent === 100) expect(count).toBe(percent * 100);
        else expect(Math.abs(count / 100 - percent)).toBeLessThanOrEqual(2);
      }
    });
  }

  it('is sticky: a user lands on the same side every time at a given percent', () => {
    for (let i = 0; i < 1_000; i++) {
      const first = goesToNew('movies', 37, `u${i}`, Math.random);
      for (let j = 0; j < 5; j++) expect(goesToNew('movies', 37, `u${i}`, Math.random)).toBe(first);
    }
  });

  it('is monotonic: raising the percent only moves users from old to new', () => {
    for (let i = 0; i < 2_000; i++) {
      let wasNew = false;
      for (let percent = 0; percent <= 100; percent++) {
        const isNew = goesToNew('movies', percent, `user-${i}`);
        if (wasNew) expect(isNew).toBe(true);
        wasNew = isNew;
      }
      expect(wasNew).toBe(true);
    }
  });

  it('buckets are 1..100', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 5_000; i++) seen.add(bucketOf('movies', String(i)));
    expect(Math.min(...seen)).toBe(1);
    expect(Math.max(...seen)).toBe(100);
    expect(seen.size).toBe(100);
  });
});
