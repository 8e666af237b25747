import type { Movie, MovieReader } from '@cinemaabyss/catalog';
import type { Database } from '@cinemaabyss/postgres';

// The columns in the order the monolith's query returns them, so the JSON is the same byte for byte.
const selectMovies = `
  SELECT id, title, description, rating, genres
    FROM movies
   WHERE $1::integer IS NULL OR id = $1
   ORDER BY id`;

/** The movies service's reads, from its own database only. */
export function movieStore(db: Database): MovieReader & { exists(id: number): Promise<boolean> } {
  return {
    async list() {
      const { rows } = await db.query<Movie>(selectMovies, [null]);
      return rows;
    },
    async find(id) {
      const { rows } = await db.query<Movie>(selectMovies, [id]);
      return rows[0];
    },
    async exists(id) {
      const { rowCount } = await db.query('SELECT 1 FROM movies WHERE id = $1', [id]);
      return rowCount === 1;
    },
  };
}
