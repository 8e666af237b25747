import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { startOwner, testConfig, waitFor } from './helpers.js';

// The monolith itself, to hold the two sides to the same answers: through the gateway a client must not be
// able to tell which one served /api/movies. It is also the owner the movies service hands writes to.
let movies: FastifyInstance;
let monolith: FastifyInstance;

beforeAll(async () => {
  const owner = await startOwner();
  monolith = owner.app;
  movies = await buildApp(testConfig({ MONOLITH_URL: owner.url }));
  await movies.ready();
});
afterAll(() => Promise.all([movies?.close(), monolith?.close()]));

const tag = () => randomUUID().slice(0, 8);
const form = { 'content-type': 'application/x-www-form-urlencoded' };

// What the original monolith accepted for movies (issue 11): the movies service must take each the same way.
const legacyPosts: [string, (title: string) => InjectOptions][] = [
  ['no Content-Type', (title) => ({ payload: JSON.stringify({ title, description: 'd', rating: 5 }) })],
  [
    'curl -d',
    (title) => ({ headers: form, payload: JSON.stringify({ title, description: 'd', rating: 5 }) }),
  ],
  ['text/plain', (title) => ({ headers: { 'content-type': 'text/plain' }, payload: `{"title":"${title}"}` })],
  [
    'upper-case keys',
    (title) => ({ payload: JSON.stringify({ TITLE: title, Genres: ['Drama'], Rating: 7 }) }),
  ],
  [
    'the last of duplicate keys',
    (title) => ({ payload: `{"title":"first","Title":"${title}","rating":1,"RATING":2}` }),
  ],
  ['"genres": null', (title) => ({ payload: JSON.stringify({ title, genres: null, rating: 3 }) })],
  ['no description or rating', (title) => ({ payload: JSON.stringify({ title }) })],
  ['a rating of 10.04', (title) => ({ payload: JSON.stringify({ title, rating: 10.04 }) })],
  [
    '30 genres and spaces kept',
    (title) => ({
      payload: JSON.stringify({
        title: `  ${title}  `,
        genres: Array.from({ length: 30 }, (_, i) => ` genre ${i} `),
      }),
    }),
  ],
  ['a 255-character title', (title) => ({ payload: JSON.stringify({ title: title.padEnd(255, 't') }) })],
];

describe('the movies service accepts for /api/movies exactly what the monolith accepts', () => {
  it.each(legacyPosts)('POST with %s: same status and body on both sides', async (_case, build) => {
    const title = `Legacy ${tag()}`;
    // One after the other: the movies service answers once its own write is applied, and the monolith's,
    // committed before it, comes first in the change stream.
    const answers = [];
    for (const app of [monolith, movies]) {
      answers.push(await app.inject({ method: 'POST', url: '/api/movies', ...build(title) }));
    }
    const [fromMonolith, fromMovies] = answers.map((res) => {
      const { id, ...movie } = res.json();
      return { status: res.statusCode, id, movie };
    });
    expect(fromMonolith?.status).toBe(201);
    expect(fromMovies).toEqual({ ...fromMonolith, id: expect.any(Number) });
    // Each side reads back the other's row the same way (the monolith's row, replicated).
    const crossRead = await movies.inject(`/api/movies?id=${fromMonolith?.id}`);
    expect(crossRead.json()).toEqual({ id: fromMonolith?.id, ...fromMonolith?.movie });
  });

  it.each(['?id=', '?id=+1', '?id=%201', '?id=1&id=2', '?id=-1', '?id=abc', '?user_id=5', ''])(
    'GET /api/movies%s answers the same on both sides',
    async (query) => {
      // Both sides at the same point of the change stream: other writers may be adding movies meanwhile.
      const [a, b] = await waitFor('both sides to hold the same movies', async () => {
        const pair = await Promise.all([monolith, movies].map((app) => app.inject(`/api/movies${query}`)));
        return pair[0]?.body === pair[1]?.body && pair;
      });
      expect(b?.statusCode).toBe(a?.statusCode);
      expect(b?.json()).toEqual(a?.json());
    },
  );

  it.each([
    ['not JSON', 'title=x'],
    ['no title', '{"description": "d"}'],
    ['a rating of 10.05', '{"title": "x", "rating": 10.05}'],
  ])('refuses a body with %s the same way on both sides', async (_case, payload) => {
    const [a, b] = await Promise.all(
      [monolith, movies].map((app) =>
        app.inject({ method: 'POST', url: '/api/movies', headers: form, payload }),
      ),
    );
    expect(a?.statusCode).toBe(400);
    expect(b?.statusCode).toBe(400);
    expect(b?.json()).toEqual(a?.json());
  });
});
