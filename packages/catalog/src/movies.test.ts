import { describe, expect, it } from 'vitest';
import { movieInput } from './movies.js';

describe('movieInput', () => {
  it('defaults genres to none and keeps the first of duplicates, in order', () => {
    expect(movieInput.parse({ title: 'T', description: '', rating: 1 }).genres).toEqual([]);
    expect(
      movieInput.parse({ title: 'T', description: '', rating: 1, genres: ['B', 'A', 'B'] }).genres,
    ).toEqual(['B', 'A']);
  });

  it('stores a missing or null description, rating or genres as the original did: "", 0, []', () => {
    expect(movieInput.parse({ title: 'T' })).toEqual({ title: 'T', description: '', genres: [], rating: 0 });
    expect(movieInput.parse({ title: 'T', description: null, genres: null, rating: null })).toEqual({
      title: 'T',
      description: '',
      genres: [],
      rating: 0,
    });
  });

  it('keeps the edges the original rounded into 0..10 inside it', () => {
    expect(movieInput.parse({ title: 'T', rating: 10.04 }).rating).toBe(10);
    expect(movieInput.parse({ title: 'T', rating: -0.04 }).rating).toBe(0);
    expect(movieInput.parse({ title: 'T', rating: 7.25 }).rating).toBe(7.25);
    expect(movieInput.safeParse({ title: 'T', rating: 10.05 }).success).toBe(false);
    expect(movieInput.safeParse({ title: 'T', rating: -0.05 }).success).toBe(false);
  });

  it('bounds the rating to 0..10', () => {
    expect(movieInput.safeParse({ title: 'T', description: '', rating: 10 }).success).toBe(true);
    expect(movieInput.safeParse({ title: 'T', description: '', rating: -0.1 }).success).toBe(false);
    expect(movieInput.safeParse({ title: 'T', description: '', rating: Number.NaN }).success).toBe(false);
  });
});
