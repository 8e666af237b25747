import { type Database, pgText, queryId } from '@cinemaabyss/postgres';
import { legacyObject } from '@cinemaabyss/service-kit';
import type pg from 'pg';
import { z } from 'zod';

/** A movie as the contract shows it; `genres` in the order they were given. */
export interface Movie {
  id: number;
  title: string;
  description: string;
  genres: string[];
  rating: number;
}

// Sizes are the original schema's columns: title varchar(255), description text, genre varchar(50).
export const movieInput = legacyObject({
  title: pgText(255),
  // Without a description or rating (or with null) the original stored "" and 0; so do we.
  description: pgText(Number.POSITIVE_INFINITY, { allowEmpty: true })
    .nullish()
    .transform((description) => description ?? ''),
  // Duplicates are dropped (keeping the first), so ["Drama", "Drama"] is one genre, not a key violation.
  genres: z
    .array(pgText(50), { error: 'must be an array of strings' })
    .nullish()
    .transform((genres) => [...new Set(genres ?? [])]),
  // The original's decimal(3, 1) column rounded before its 0..10 check, so it took 10.04 (as 10.0) and
  // refused 10.05; the same edges are accepted here and kept inside 0..10.
  rating: z
    .number({ error: 'must be a number' })
    .gt(-0.05, { error: 'must be between 0 and 10' })
    .lt(10.05, { error: 'must be between 0 and 10' })
    .nullish()
    .transform((rating) => Math.min(Math.max(rating ?? 0, 0), 10)),
});

export type MovieInput = z.infer<typeof movieInput>;

export const movieQuery = z.object({ id: queryId });

// Genres are rows of their own (genres + movie_genres): a genre is named once, can be listed or renamed in
// one place, and "movies of genre X" is an index lookup. `position` keeps each movie's genres in order.
const selectMovies = `
  SELECT m.id, m.title, m.description, m.rating,
         COALESCE(array_agg(g.name ORDER BY mg.position) FILTER (WHERE g.id IS NOT NULL), '{}') AS genres
    FROM movies m
    LEFT JOIN movie_genres mg ON mg.movie_id = m.id
    LEFT JOIN genres g ON g.id = mg.genre_id
   WHERE $1::integer IS NULL OR m.id = $1
   GROUP BY m.id
   ORDER BY m.id`;

/** What GET /api/movies needs: every movie in id order, or one. */
export interface MovieReader {
  list(): Promise<Movie[]>;
  find(id: number): Promise<Movie | undefined>;
}

export interface MovieRepository extends MovieReader {
  create(input: MovieInput): Promise<Movie>;
}

export function movieRepository(db: Database): MovieRepository {
  return {
    async list() {
      const { rows } = await db.query<Movie>(selectMovies, [null]);
      return rows;
    },
    async find(id) {
      const { rows } = await db.query<Movie>(selectMovies, [id]);
      return rows[0];
    },
    create: (input) => db.transaction((client) => insertMovie(client, input)),
  };
}

async function insertMovie(client: pg.PoolClient, { title, description, genres, rating }: MovieInput) {
  const { rows } = await client.query<Omit<Movie, 'genres'>>(
    'INSERT INTO movies (title, description, rating) VALUES ($1, $2, $3) RETURNING id, title, description, rating',
    [title, description, rating],
  );
  const movie = rows[0] as Omit<Movie, 'genres'>;
  if (genres.length > 0) {
    // ON CONFLICT DO NOTHING waits for a concurrent insert of the same new genre, and the next
    // statement (a fresh snapshot under READ COMMITTED) then sees its row.
    await client.query('INSERT INTO genres (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING', [
      genres,
    ]);
    await client.query(
      `INSERT INTO movie_genres (movie_id, genre_id, position)
       SELECT $1, g.id, given.position
         FROM unnest($2::text[]) WITH ORDINALITY AS given(name, position)
         JOIN genres g ON g.name = given.name`,
      [movie.id, genres],
    );
  }
  return { ...movie, genres };
}
