import { describe, expect, it } from 'vitest';
import { movieInput } from './movies.js';

describe('movieInput', () => {
  it('defaults genres to none and keeps the first of duplicates, in order', () => {
    expect(movieInput.parse({ title: 'T', description: '', rating: 1 }).genres).toEqual([]);
    expect(
      movieInput.parse({ title: 'T', description: '', rating: 1, genres: ['B', 'A', 'B'] }).genres,
    ).toEqual(['B', 'A']);
  });

  it('bounds the rating to 0..10', () => {
    expect(movieInput.safeParse({ title: 'T', description: '', rating: 10 }).success).toBe(true);
    expect(movieInput.safeParse({ title: 'T', description: '', rating: -0.1 }).success).toBe(false);
    expect(movieInput.safeParse({ title: 'T', description: '', rating: Number.NaN }).success).toBe(false);
  });
});
