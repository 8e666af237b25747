import { inTransaction } from '@cinemaabyss/postgres';
import type pg from 'pg';
import {
  type Change,
  type GenreRow,
  type LinkRow,
  type MovieRow,
  type Version,
  versionOf,
} from './changes.js';
import type { Unit } from './units.js';

/** What one applied unit changed, for the metrics and the logs. */
export interface Applied {
  /** Source rows that moved forward, by table (an older or repeated change moves nothing). */
  rows: { movies: number; genres: number; movie_genres: number };
  /** Movies rebuilt in the served table (the whole table at the end of a snapshot). */
  refreshed: number;
}

type Of<T extends Change['table']> = Extract<Change, { table: T }>;

/**
 * Applies one unit in one transaction of the movies database. The source rows are kept as last seen
 * (source_*, with their version and tombstones); the served `movies` rows of every movie the unit touched
 * are then rebuilt from them, so a reader sees a movie with all of its genres or none of the change.
 * Snapshot reads only fill the source rows: the served table is rebuilt once the snapshot is complete.
 */
export function applyUnit(pool: pg.Pool, unit: Unit): Promise<Applied> {
  return applyUnits(pool, [unit]);
}

/**
 * Applies consecutive source transactions (or one snapshot batch) in ONE transaction of the movies database:
 * the same statements as for one, so an applier that fell behind catches up at the cost of a few statements
 * per fetch instead of a few per source transaction. A reader still never sees part of a source
 * transaction: it sees all of the group or none of it. Each change keeps its own transaction's version,
 * and the last change of a row in stream (commit) order is the one applied.
 */
export async function applyUnits(pool: pg.Pool, units: Unit[]): Promise<Applied> {
  const commitOf = new Map<Change, bigint | null>();
  for (const unit of units) for (const change of unit.changes) commitOf.set(change, unit.commitLsn);
  const changes = units.flatMap((unit) => unit.changes).filter((change) => change.table !== 'other');
  const snapshotEnd = units.flatMap((unit) => unit.changes).find((change) => change.snapshotEnd);
  const transactions = units.some((unit) => unit.kind === 'transaction');
  const applied: Applied = { rows: { movies: 0, genres: 0, movie_genres: 0 }, refreshed: 0 };
  if (changes.length === 0 && !snapshotEnd) return applied;
  return inTransaction(pool, async (client) => {
    const version = (change: Change) => versionOf(change, commitOf.get(change) ?? null);
    const movieIds = await upsertMovies(
      client,
      latest(changes, 'movies', (row) => `${row.id}`),
      version,
    );
    const genreIds = await upsertGenres(
      client,
      latest(changes, 'genres', (row) => `${row.id}`),
      version,
    );
    const linkMovieIds = await upsertLinks(
      client,
      latest(changes, 'movie_genres', (row) => `${row.movie_id}:${row.genre_id}`),
      version,
    );
    applied.rows = { movies: movieIds.length, genres: genreIds.length, movie_genres: linkMovieIds.length };
    if (snapshotEnd) {
      await dropUnread(client, version(snapshotEnd));
      applied.refreshed = await refresh(client, null);
    } else if (transactions) {
      const affected = new Set([...movieIds, ...linkMovieIds, ...(await moviesOfGenres(client, genreIds))]);
      applied.refreshed = await refresh(
        client,
        [...affected].sort((a, b) => a - b),
      );
    }
    await raiseIdentity(client, movieIds);
    return applied;
  });
}

/** The last change of each row in the unit (stream order is each row's commit order), sorted by key. */
function latest<T extends 'movies' | 'genres' | 'movie_genres'>(
  changes: Change[],
  table: T,
  key: (row: Of<T>['row']) => string,
): Of<T>[] {
  const byKey = new Map<string, Of<T>>();
  for (const change of changes) {
    if (change.table === table) byKey.set(key(change.row as Of<T>['row']), change as Of<T>);
  }
  // One lock order for every applier, so two of them on one database never deadlock.
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, change]) => change);
}

type VersionOf = (change: Change) => Version;

const versions = (changes: Change[], version: VersionOf) => ({
  commit: changes.map((change) => version(change).commitLsn.toString()),
  change: changes.map((change) => version(change).changeLsn.toString()),
});

// Each upsert moves a row only forward: an older or repeated change (a replay) leaves it as it is.
const newer = (table: string) =>
  `WHERE (${table}.commit_lsn, ${table}.change_lsn) < (excluded.commit_lsn, excluded.change_lsn)`;

async function upsertMovies(
  client: pg.PoolClient,
  changes: Of<'movies'>[],
  version: VersionOf,
): Promise<number[]> {
  if (changes.length === 0) return [];
  const full = (change: Of<'movies'>) => (change.deleted ? undefined : (change.row as MovieRow));
  const { commit, change } = versions(changes, version);
  const { rows } = await client.query<{ id: number }>(
    `INSERT INTO source_movies (id, title, description, rating, commit_lsn, change_lsn, deleted)
     SELECT * FROM unnest($1::integer[], $2::text[], $3::text[], $4::float8[], $5::bigint[], $6::bigint[], $7::boolean[])
     ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description,
       rating = excluded.rating, commit_lsn = excluded.commit_lsn, change_lsn = excluded.change_lsn,
       deleted = excluded.deleted
     ${newer('source_movies')}
     RETURNING id`,
    [
      changes.map((c) => c.row.id),
      changes.map((c) => full(c)?.title ?? null),
      changes.map((c) => full(c)?.description ?? null),
      changes.map((c) => full(c)?.rating ?? null),
      commit,
      change,
      changes.map((c) => c.deleted),
    ],
  );
  return rows.map((row) => row.id);
}

async function upsertGenres(
  client: pg.PoolClient,
  changes: Of<'genres'>[],
  version: VersionOf,
): Promise<number[]> {
  if (changes.length === 0) return [];
  const { commit, change } = versions(changes, version);
  const { rows } = await client.query<{ id: number }>(
    `INSERT INTO source_genres (id, name, commit_lsn, change_lsn, deleted)
     SELECT * FROM unnest($1::integer[], $2::text[], $3::bigint[], $4::bigint[], $5::boolean[])
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, commit_lsn = excluded.commit_lsn,
       change_lsn = excluded.change_lsn, deleted = excluded.deleted
     ${newer('source_genres')}
     RETURNING id`,
    [
      changes.map((c) => c.row.id),
      changes.map((c) => (c.deleted ? null : (c.row as GenreRow).name)),
      commit,
      change,
      changes.map((c) => c.deleted),
    ],
  );
  return rows.map((row) => row.id);
}

/** Returns the movie of each link that moved. */
async function upsertLinks(
  client: pg.PoolClient,
  changes: Of<'movie_genres'>[],
  version: VersionOf,
): Promise<number[]> {
  if (changes.length === 0) return [];
  const { commit, change } = versions(changes, version);
  const { rows } = await client.query<{ movie_id: number }>(
    `INSERT INTO source_movie_genres (movie_id, genre_id, position, commit_lsn, change_lsn, deleted)
     SELECT * FROM unnest($1::integer[], $2::integer[], $3::integer[], $4::bigint[], $5::bigint[], $6::boolean[])
     ON CONFLICT (movie_id, genre_id) DO UPDATE SET position = excluded.position,
       commit_lsn = excluded.commit_lsn, change_lsn = excluded.change_lsn, deleted = excluded.deleted
     ${newer('source_movie_genres')}
     RETURNING movie_id`,
    [
      changes.map((c) => c.row.movie_id),
      changes.map((c) => c.row.genre_id),
      changes.map((c) => (c.deleted ? null : (c.row as LinkRow).position)),
      commit,
      change,
      changes.map((c) => c.deleted),
    ],
  );
  return rows.map((row) => row.movie_id);
}

/** A renamed or deleted genre changes every movie that carries it. */
async function moviesOfGenres(client: pg.PoolClient, genreIds: number[]): Promise<number[]> {
  if (genreIds.length === 0) return [];
  const { rows } = await client.query<{ movie_id: number }>(
    'SELECT DISTINCT movie_id FROM source_movie_genres WHERE genre_id = ANY($1::integer[])',
    [genreIds],
  );
  return rows.map((row) => row.movie_id);
}

/**
 * A complete snapshot holds every row the source had at its position: a row last changed before that
 * position and not read again no longer exists there (deleted while no change was captured).
 */
async function dropUnread(client: pg.PoolClient, snapshot: Version): Promise<void> {
  for (const table of ['source_movies', 'source_genres', 'source_movie_genres']) {
    await client.query(
      `UPDATE ${table} SET deleted = true, commit_lsn = $1, change_lsn = $2
        WHERE NOT deleted AND (commit_lsn, change_lsn) < ($1::bigint, $2::bigint)`,
      [snapshot.commitLsn.toString(), snapshot.changeLsn.toString()],
    );
  }
}

/**
 * Rebuilds the served rows of `ids` (every movie when null) from the source rows: genres in the monolith's
 * order (movie_genres.position, then the genre id, as the parity checker orders them), a deleted movie
 * removed. Rows already equal are not written.
 */
async function refresh(client: pg.PoolClient, ids: number[] | null): Promise<number> {
  if (ids !== null && ids.length === 0) return 0;
  const only = (column: string) => (ids === null ? 'true' : `${column} = ANY($1::integer[])`);
  const params = ids === null ? [] : [ids];
  await client.query(
    `DELETE FROM movies WHERE ${only('id')} AND NOT EXISTS (
       SELECT 1 FROM source_movies s WHERE s.id = movies.id AND NOT s.deleted)`,
    params,
  );
  const { rowCount } = await client.query(
    `INSERT INTO movies (id, title, description, rating, genres)
     SELECT m.id, m.title, m.description, m.rating,
            COALESCE(array_agg(g.name ORDER BY l.position, l.genre_id) FILTER (WHERE g.id IS NOT NULL), '{}')
       FROM source_movies m
       LEFT JOIN source_movie_genres l ON l.movie_id = m.id AND NOT l.deleted
       LEFT JOIN source_genres g ON g.id = l.genre_id AND NOT g.deleted
      WHERE ${only('m.id')} AND NOT m.deleted
      GROUP BY m.id
     ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description,
       rating = excluded.rating, genres = excluded.genres
      WHERE (movies.title, movies.description, movies.rating, movies.genres)
            IS DISTINCT FROM (excluded.title, excluded.description, excluded.rating, excluded.genres)`,
    params,
  );
  return rowCount ?? 0;
}

/** Ids are kept as the monolith gave them, so the identity must stay above each of them. */
async function raiseIdentity(client: pg.PoolClient, movieIds: number[]): Promise<void> {
  if (movieIds.length === 0) return;
  await client.query(
    `SELECT setval(seq, top)
       FROM (SELECT pg_get_serial_sequence('movies', 'id')::regclass AS seq, max(id) AS top
               FROM unnest($1::integer[]) AS given(id)) s
      WHERE top > COALESCE(pg_sequence_last_value(seq), 0)`,
    [movieIds],
  );
}
