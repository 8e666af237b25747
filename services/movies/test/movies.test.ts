import { contractErrors, responseErrors } from '@cinemaabyss/contract';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { startOwner, testConfig, unique, waitFor } from './helpers.js';

// The movies service as deployed: reads from its own database, writes handed to the monolith (an app of this
// checkout), whose changes the stack's capture and movies-sync bring back into the movies database.
const monolithDatabaseUrl =
  process.env.DATABASE_URL ?? 'postgres://cinemaabyss:cinemaabyss@127.0.0.1:5432/cinemaabyss';
let owner: Awaited<ReturnType<typeof startOwner>>;
let app: FastifyInstance;

beforeAll(async () => {
  owner = await startOwner();
  app = await buildApp(testConfig({ MONOLITH_URL: owner.url }));
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await owner?.app.close();
});

describe('movies service', () => {
  it('answers /api/movies/health and /api/movies/ready', async () => {
    const health = await app.inject('/api/movies/health');
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: true });
    const ready = await app.inject('/api/movies/ready');
    expect(ready.json()).toEqual({ status: true });
  });

  it('creates a movie and reads it back by id and in the list', async () => {
    const input = {
      title: `Movies svc ${unique()}`,
      description: 'd',
      genres: ['Sci-Fi', 'Drama'],
      rating: 8.1,
    };
    const created = await app.inject({ method: 'POST', url: '/api/movies', payload: input });
    expect(created.statusCode).toBe(201);
    const movie = created.json();
    expect(movie).toEqual({ id: expect.any(Number), ...input });
    expect((await app.inject(`/api/movies?id=${movie.id}`)).json()).toEqual(movie);
    expect((await app.inject('/api/movies')).json()).toContainEqual(movie);
  });

  it('serves a movie posted to the monolith, with its genres, as the monolith serves it', async () => {
    const posted = await fetch(`${owner.url}/api/movies`, {
      method: 'POST',
      body: JSON.stringify({
        title: `Posted to the owner ${unique()}`,
        genres: ['Drama', `New ${unique()}`],
      }),
    });
    expect(posted.status).toBe(201);
    const { id } = (await posted.json()) as { id: number };
    const fromMovies = await waitFor(`movie ${id} to be replicated`, async () => {
      const answer = await app.inject(`/api/movies?id=${id}`);
      return answer.statusCode === 200 && answer.body;
    });
    expect(fromMovies).toBe(await (await fetch(`${owner.url}/api/movies?id=${id}`)).text());
  });

  it('serves the rows the monolith writes: same shape', async () => {
    // A movie written straight into the monolith's tables, as its migrations define them.
    const client = new pg.Client({ connectionString: monolithDatabaseUrl });
    await client.connect();
    const title = `Written elsewhere ${unique()}`;
    let id: number;
    try {
      const { rows } = await client.query(
        "INSERT INTO movies (title, description, rating) VALUES ($1, 'legacy row', 7.25) RETURNING id",
        [title],
      );
      id = rows[0].id;
    } finally {
      await client.end();
    }
    const res = await waitFor(`movie ${id} to be replicated`, async () => {
      const answer = await app.inject(`/api/movies?id=${id}`);
      return answer.statusCode === 200 && answer;
    });
    expect(res.json()).toEqual({ id, title, description: 'legacy row', genres: [], rating: 7.25 });
  });

  it('answers 404 for an unknown id and 400 for a non-numeric one or a bad body', async () => {
    const missing = await app.inject('/api/movies?id=2147483647');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'movie 2147483647 not found' });
    const badId = await app.inject('/api/movies?id=abc');
    expect(badId.statusCode).toBe(400);
    expect(badId.json().error).toMatch(/^query\.id: /);
    const badBody = await app.inject({
      method: 'POST',
      url: '/api/movies',
      payload: { description: 'no title', rating: 5 },
    });
    expect(badBody.statusCode).toBe(400);
    expect(badBody.json().error).toMatch(/body\.title/);
  });

  it('answers every endpoint in the contract shapes', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/movies',
      payload: { title: `Contract ${unique()}`, description: 'd', rating: 5 },
    });
    expect(responseErrors('post', '/api/movies', 201, created.json())).toEqual([]);
    expect(responseErrors('get', '/api/movies', 200, (await app.inject('/api/movies')).json())).toEqual([]);
    expect(contractErrors('Movie', (await app.inject(`/api/movies?id=${created.json().id}`)).json())).toEqual(
      [],
    );
    expect(
      responseErrors('get', '/api/movies/health', 200, (await app.inject('/api/movies/health')).json()),
    ).toEqual([]);
    const bad = await app.inject({ method: 'POST', url: '/api/movies', payload: {} });
    expect(responseErrors('post', '/api/movies', 400, bad.json())).toEqual([]);
    expect(contractErrors('Error', (await app.inject('/api/movies?id=2147483647')).json())).toEqual([]);
  });
});

describe("the movies service's database role", () => {
  it('cannot connect to the monolith database', async () => {
    const url = new URL(testConfig().DATABASE_URL);
    url.pathname = `/${new URL(monolithDatabaseUrl).pathname.slice(1)}`;
    const client = new pg.Client({ connectionString: url.href });
    const refused = await client.connect().then(
      async () => {
        await client.end();
        return 'connected';
      },
      (error: { code?: string; message: string }) => error.code,
    );
    // 42501: insufficient_privilege (no CONNECT on the database).
    expect(refused).toBe('42501');
  });
});
