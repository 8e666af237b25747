import type { Database } from '@cinemaabyss/postgres';
import { HttpError, parseInput } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { type MovieReader, movieInput, movieQuery, movieRepository } from './movies.js';

/**
 * `/api/movies`: GET lists every movie, GET `?id=N` returns one (404 when unknown), POST creates one (201).
 * Registered by the monolith on its own tables.
 */
export async function movieRoutes(app: FastifyInstance, { db }: { db: Database }) {
  const movies = movieRepository(db);
  movieReadRoute(app, movies);
  app.post('/api/movies', async (request, reply) => {
    const input = parseInput(movieInput, request.body, 'body');
    return reply.code(201).send(await movies.create(input));
  });
}

/**
 * GET `/api/movies` over any store of movies: the monolith and the movies service (each on its own
 * database) answer through this one function, so a client cannot tell which side served it.
 */
export function movieReadRoute(app: FastifyInstance, movies: MovieReader): void {
  app.get('/api/movies', async (request) => {
    const { id } = parseInput(movieQuery, request.query, 'query');
    if (id === undefined) return movies.list();
    const movie = await movies.find(id);
    if (!movie) throw new HttpError(404, `movie ${id} not found`);
    return movie;
  });
}
