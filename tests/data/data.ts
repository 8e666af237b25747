import { Redis } from 'ioredis';
import pg from 'pg';
import { settings, waitFor } from './components.js';
import type { Aggregate, WriteLoad } from './load.js';

/** The status document movies-sync publishes (docs/data.md#the-status-document), as far as the suite reads it. */
export interface DataStatus {
  connector: { name: string; state: string };
  lagMs: number | null;
  lagP99Ms: number | null;
  parity: {
    state: 'ok' | 'mismatch' | 'unknown';
    checkedAt: string | null;
    rows: number | null;
    mismatched: number | null;
    missing: number | null;
    extra: number | null;
    sampleIds: number[];
  };
  updatedAt: string;
}

const KEY = 'cinemaabyss:data:movies';

/** The two databases and the status in Redis, read as an operator would. */
export class MoviesData {
  readonly monolith = new pg.Pool({
    connectionString: settings.databaseUrl,
    max: 2,
    connectionTimeoutMillis: 2_000,
  });
  readonly movies = new pg.Pool({
    connectionString: settings.moviesDatabaseUrl,
    max: 2,
    connectionTimeoutMillis: 2_000,
  });
  private readonly redis = new Redis(settings.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });

  constructor() {
    // A PostgreSQL restart cuts idle connections: the next query gets a new one.
    this.monolith.on('error', () => {});
    this.movies.on('error', () => {});
  }

  async close(): Promise<void> {
    await Promise.all([this.monolith.end(), this.movies.end(), this.redis.quit()]);
  }

  async status(): Promise<DataStatus | undefined> {
    if (this.redis.status === 'wait') await this.redis.connect();
    const text = await this.redis.get(KEY);
    return text ? (JSON.parse(text) as DataStatus) : undefined;
  }

  /** Polls the status document until `accept` holds for a fresh one (written after `since`). */
  async waitForStatus(
    what: string,
    accept: (status: DataStatus) => boolean,
    timeoutMs: number,
    since = 0,
  ): Promise<DataStatus> {
    return waitFor(
      `status ${what}`,
      async () => {
        const status = await this.status();
        return status && Date.parse(status.updatedAt) >= since && accept(status) ? status : undefined;
      },
      timeoutMs,
    );
  }

  /**
   * A full parity pass on demand (PUBLISH on the verify channel, as the gateway does) and its report: the
   * first pass that finished after the request. Published again while nobody is subscribed (a restarting
   * movies-sync), since pub/sub keeps nothing.
   */
  async verify(by: string, timeoutMs = 60_000): Promise<DataStatus['parity']> {
    if (this.redis.status === 'wait') await this.redis.connect();
    const requested = Date.now();
    await waitFor(
      'a movies-sync subscribed to the verify channel',
      async () =>
        (await this.redis.publish(`${KEY}:verify`, JSON.stringify({ by }))) > 0 ? true : undefined,
      30_000,
      250,
    );
    const status = await this.waitForStatus(
      'with a parity pass finished after the request',
      (s) => s.parity.checkedAt !== null && Date.parse(s.parity.checkedAt) >= requested,
      timeoutMs,
    );
    return status.parity;
  }

  /** Movie aggregates by id in the monolith (three tables) or the movies database (one row). */
  async aggregates(side: 'monolith' | 'movies', ids: number[]): Promise<Map<number, Aggregate>> {
    const sql =
      side === 'monolith'
        ? `SELECT m.id, m.title, m.description, m.rating,
                  ARRAY(SELECT g.name FROM movie_genres mg JOIN genres g ON g.id = mg.genre_id
                         WHERE mg.movie_id = m.id ORDER BY mg.position, mg.genre_id) AS genres
             FROM movies m WHERE m.id = ANY($1::int[])`
        : 'SELECT id, title, description, rating, genres FROM movies WHERE id = ANY($1::int[])';
    const pool = side === 'monolith' ? this.monolith : this.movies;
    const { rows } = await pool.query<Aggregate & { id: number }>(sql, [ids]);
    return new Map(rows.map(({ id, ...movie }) => [id, movie]));
  }

  /**
   * Waits until every change the load made is readable in the movies database, and returns what was
   * compared. Expected: each movie's state after its last acknowledged write (absent once deleted); for a
   * movie whose last write got no answer, whatever the monolith holds. Also checks that the monolith holds
   * what was acknowledged, so the expectation itself is the truth.
   */
  async expectApplied(load: WriteLoad, timeoutMs = 60_000): Promise<{ movies: number; missing: number }> {
    if (load.unanswered.length > 0) {
      const { rows } = await this.monolith.query<{ id: number }>(
        'SELECT id FROM movies WHERE title = ANY($1)',
        [load.unanswered],
      );
      for (const { id } of rows) load.uncertain.add(id);
    }
    const ids = load.ids();
    const truth = await this.aggregates('monolith', ids);
    const wrong = ids.filter((id) => {
      if (load.uncertain.has(id)) return false;
      const expected = load.expected.get(id) ?? null;
      return JSON.stringify(expected) !== JSON.stringify(truth.get(id) ?? null);
    });
    if (wrong.length > 0)
      throw new Error(
        `the monolith does not hold what it acknowledged for movies ${wrong.slice(0, 10).join(', ')}`,
      );
    let missing = ids.length;
    try {
      await waitFor(
        `all ${ids.length} movies the load wrote readable in the movies database`,
        async () => {
          const applied = await this.aggregates('movies', ids);
          missing = ids.filter(
            (id) => JSON.stringify(truth.get(id) ?? null) !== JSON.stringify(applied.get(id) ?? null),
          ).length;
          return missing === 0 ? true : undefined;
        },
        timeoutMs,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; ${missing} still differ`);
    }
    return { movies: ids.length, missing };
  }
}
