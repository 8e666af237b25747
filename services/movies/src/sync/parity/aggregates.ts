import type { Database } from '@cinemaabyss/postgres';

/**
 * The two sides of the comparison as SQL. Each side states its movie aggregates (id, title, description,
 * rating, genres in order) as one relation `a`, and every hash is computed in PostgreSQL from the same
 * digest expression, so a chunk costs the databases an index range scan and the checker 50 bytes a side.
 *
 * The digest is a JSON array: unambiguous whatever the text holds, and the same on both servers. The rating
 * goes in as its IEEE bytes in hex, so no float formatting setting (extra_float_digits) can make 9.3 on one
 * side differ from 9.3 on the other.
 */
const DIGEST = `md5(json_build_array(a.id, a.title, a.description, encode(float8send(a.rating), 'hex'), a.genres)::text)`;

/** Which rows a statement reads: an id range (lo, hi], or a list of ids. */
type Rows = 'range' | 'ids';
const where: Record<Rows, string> = {
  range: 'm.id > $1::bigint AND m.id <= $2::bigint',
  ids: 'm.id = ANY($1::int[])',
};

/** One database's movie aggregates restricted to `rows`, as the relation `a`. */
export interface AggregateSource {
  /** The side's name in logs and reports: `source` (the monolith) or `target` (the movies database). */
  readonly name: 'source' | 'target';
  readonly db: Database;
  aggregates(rows: Rows): string;
}

/**
 * The monolith: genres are rows of their own, ordered by `movie_genres.position` (as the catalogue reads
 * them; the genre id only breaks ties, which the catalogue's writes never make).
 */
export const monolithAggregates = (db: Database): AggregateSource => ({
  name: 'source',
  db,
  aggregates: (rows) => `
    SELECT m.id, m.title, m.description, m.rating,
           ARRAY(SELECT g.name FROM movie_genres mg JOIN genres g ON g.id = mg.genre_id
                  WHERE mg.movie_id = m.id ORDER BY mg.position, mg.genre_id) AS genres
      FROM movies m
     WHERE ${where[rows]}`,
});

/** The movies service's own database: genres are a `text[]` column, already in order. */
export const moviesAggregates = (db: Database): AggregateSource => ({
  name: 'target',
  db,
  aggregates: (rows) => `
    SELECT m.id, m.title, m.description, m.rating, m.genres
      FROM movies m
     WHERE ${where[rows]}`,
});

export interface ChunkHash {
  /** Rows of the side in the chunk. */
  rows: number;
  /** md5 over the digests of those rows in id order; null for an empty chunk. */
  hash: string | null;
  /** The side's first id above the chunk, so the next chunk skips the ids neither side holds. */
  nextId: number | null;
}

/** The hash of the side's rows with ids in (lo, hi]. */
export async function chunkHash(side: AggregateSource, lo: number, hi: number): Promise<ChunkHash> {
  const { rows } = await side.db.query<{ rows: number; hash: string | null; next_id: number | null }>(
    `SELECT count(*)::int AS rows,
            md5(string_agg(${DIGEST}, '' ORDER BY a.id)) AS hash,
            (SELECT min(n.id) FROM movies n WHERE n.id > $2::bigint) AS next_id
       FROM (${side.aggregates('range')}) a`,
    [lo, hi],
  );
  const row = rows[0]!;
  return { rows: row.rows, hash: row.hash, nextId: row.next_id };
}

/** The side's lowest id, or null when it holds no movie. */
export async function firstId(side: AggregateSource): Promise<number | null> {
  const { rows } = await side.db.query<{ id: number | null }>('SELECT min(id) AS id FROM movies');
  return rows[0]?.id ?? null;
}

/** Each row's digest, by id: the rows of (lo, hi] for a chunk whose hashes differ, or the rows of `ids`. */
export async function rowDigests(
  side: AggregateSource,
  rows: { lo: number; hi: number } | { ids: number[] },
): Promise<Map<number, string>> {
  const byRange = 'lo' in rows;
  const result = await side.db.query<{ id: number; digest: string }>(
    `SELECT a.id, ${DIGEST} AS digest FROM (${side.aggregates(byRange ? 'range' : 'ids')}) a`,
    byRange ? [rows.lo, rows.hi] : [rows.ids],
  );
  return new Map(result.rows.map((row) => [row.id, row.digest]));
}
