import { describe, expect, it } from 'vitest';
import { call, unique, useApp } from './helpers.js';

const app = useApp();

describe('/api/movies on the monolith', () => {
  it('creates a movie with its genres in order and reads it back', async () => {
    const genre = `Genre ${unique()}`;
    const input = {
      title: `Movie ${unique()}`,
      description: 'A test film',
      genres: [genre, 'Drama'],
      rating: 7.5,
    };
    const created = await call(app(), 'POST', '/api/movies', input);
    expect(created.statusCode).toBe(201);
    const movie = created.json();
    expect(movie).toEqual({ id: expect.any(Number), ...input });

    const one = await call(app(), 'GET', `/api/movies?id=${movie.id}`);
    expect(one.json()).toEqual(movie);
    expect((await call(app(), 'GET', '/api/movies')).json()).toContainEqual(movie);
  });

  it('shares a genre between movies and drops duplicates within one', async () => {
    const genre = `Shared ${unique()}`;
    const a = (
      await call(app(), 'POST', '/api/movies', { title: 'A', description: '', genres: [genre], rating: 5 })
    ).json();
    const b = await call(app(), 'POST', '/api/movies', {
      title: 'B',
      description: '',
      genres: [genre, genre, 'Comedy'],
      rating: 6,
    });
    expect(b.statusCode).toBe(201);
    expect(b.json().genres).toEqual([genre, 'Comedy']);
    expect((await call(app(), 'GET', `/api/movies?id=${a.id}`)).json().genres).toEqual([genre]);
  });

  it('accepts a movie without genres and answers with an empty list', async () => {
    const res = await call(app(), 'POST', '/api/movies', {
      title: `Bare ${unique()}`,
      description: 'x',
      rating: 0,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().genres).toEqual([]);
  });

  it('serves the seeded movies with their genres', async () => {
    const list = (await call(app(), 'GET', '/api/movies')).json();
    expect(list).toContainEqual(
      expect.objectContaining({ title: 'Inception', genres: ['Sci-Fi', 'Action', 'Thriller'], rating: 8.8 }),
    );
  });

  it('answers an unknown id with 404 and a non-numeric one with 400', async () => {
    const missing = await call(app(), 'GET', '/api/movies?id=2147483646');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'movie 2147483646 not found' });
    const bad = await call(app(), 'GET', '/api/movies?id=inception');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/^query\.id: /);
  });

  it.each([
    [{ description: 'x', rating: 5 }, /body\.title/],
    [{ title: 't', description: 'x', rating: '5' }, /body\.rating: must be a number/],
    [{ title: 't', description: 'x', rating: 11 }, /body\.rating: must be between 0 and 10/],
    [{ title: 't', description: 'x', rating: 10.05 }, /body\.rating: must be between 0 and 10/],
    [{ title: '', description: 'x', rating: 5 }, /body\.title: must not be empty/],
    [{ title: 'x'.repeat(256), description: 'x', rating: 5 }, /body\.title: must be at most 255/],
    [{ title: 't', description: 'x', rating: 5, genres: 'Drama' }, /body\.genres/],
    [{ title: 't', description: 'x', rating: 5, genres: [''] }, /body\.genres\.0: must not be empty/],
    [{ title: 't', rating: 5, genres: ['x'.repeat(51)] }, /body\.genres\.0: must be at most 50/],
  ])('refuses the body %j with a 400 naming the field', async (body, message) => {
    const res = await call(app(), 'POST', '/api/movies', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(message);
  });
});
