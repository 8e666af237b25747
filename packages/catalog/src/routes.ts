import { type Database, sendJsonArray } from '@cinemaabyss/postgres';
import { HttpError, parseInput } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { movieInput, movieList, movieQuery, movieRepository } from './movies.js';

/**
 * `/api/movies`: GET lists every movie, GET `?id=N` returns one (404 when unknown), POST creates one (201).
 * Registered by the monolith and the movies service alike, so both answer in exactly the same shape.
 */
export async function movieRoutes(app: FastifyInstance, { db }: { db: Database }) {
  const movies = movieRepository(db);

  app.get('/api/movies', async (request, reply) => {
    const { id } = parseInput(movieQuery, request.query, 'query');
    if (id === undefined) return sendJsonArray(reply, db, movieList);
    const movie = await movies.find(id);
    if (!movie) throw new HttpError(404, `movie ${id} not found`);
    return movie;
  });

  app.post('/api/movies', async (request, reply) => {
    const input = parseInput(movieInput, request.body, 'body');
    return reply.code(201).send(await movies.create(input));
  });
}
