import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSyncApp, type SyncDeps } from '../src/sync/app.js';
import { configSchema } from '../src/sync/config.js';
import type { Lag } from '../src/sync/lag.js';
import { StreamWriter } from './debezium.js';
import {
  brokers,
  committedOffset,
  deleteGroup,
  deleteTopic,
  startGroupAt,
  throwAwaySchema,
  topicWith,
  unique,
  waitFor,
} from './helpers.js';

// movies-sync against the real Kafka and PostgreSQL: a stream written to a topic of its own, applied into
// schemas of their own in the movies database.

const movie = (id: number, title: string) => ({ id, title, description: `about ${title}`, rating: 7.5 });
const link = (movieId: number, genreId: number, position: number) => ({
  movie_id: movieId,
  genre_id: genreId,
  position,
});

/** The monolith's history as its change stream shows it: a snapshot, then transactions. */
function history(): StreamWriter {
  const stream = new StreamWriter();
  stream.snapshot([
    ['movies', movie(1, 'One')],
    ['movies', movie(2, 'Two')],
    ['movies', movie(3, 'Three')],
    ['genres', { id: 1, name: 'Drama' }],
    ['genres', { id: 2, name: 'Crime' }],
    ['movie_genres', link(1, 2, 1)],
    ['movie_genres', link(1, 1, 2)],
    ['movie_genres', link(2, 1, 1)],
  ]);
  stream.tx([
    ['c', 'movies', movie(40, 'Forty')],
    ['c', 'genres', { id: 3, name: 'Sci-Fi' }],
    ['c', 'movie_genres', link(40, 3, 1)],
    ['c', 'movie_genres', link(40, 1, 2)],
  ]);
  stream.tx([['u', 'movies', { ...movie(1, 'One, again'), rating: 9 }]]);
  stream.tx([['u', 'genres', { id: 1, name: 'Drama!' }]]);
  stream.tx([
    ['d', 'movie_genres', { movie_id: 2, genre_id: 1 }],
    ['d', 'movies', { id: 2 }],
  ]);
  stream.tx([['u', 'cdc_heartbeat', { id: 1, beat_at: '2026-12-08T03:00:00Z' }]]);
  stream.tx([['c', 'movies', movie(7, 'Seven')]]);
  return stream;
}

const expected = [
  { id: 1, title: 'One, again', description: 'about One, again', rating: 9, genres: ['Crime', 'Drama!'] },
  { id: 3, title: 'Three', description: 'about Three', rating: 7.5, genres: [] },
  { id: 7, title: 'Seven', description: 'about Seven', rating: 7.5, genres: [] },
  { id: 40, title: 'Forty', description: 'about Forty', rating: 7.5, genres: ['Sci-Fi', 'Drama!'] },
];

async function served(client: pg.Client) {
  const { rows } = await client.query(
    'SELECT id, title, description, rating, genres FROM movies ORDER BY id',
  );
  return rows;
}

/** Runs movies-sync on `topic` with a group of its own until it has committed the whole topic. */
async function syncUntilDone(
  url: string,
  topic: string,
  endOffset: number,
  startAt?: number,
  plugins: SyncDeps['plugins'] = [],
) {
  const groupId = `movies-sync-test-${unique()}`;
  if (startAt !== undefined) await startGroupAt(groupId, topic, startAt);
  const app: FastifyInstance = await buildSyncApp(
    configSchema.parse({
      DATABASE_URL: url,
      KAFKA_BROKERS: brokers.join(','),
      SYNC_TOPIC: topic,
      SYNC_GROUP_ID: groupId,
      SYNC_SNAPSHOT_BATCH: '3',
      LOG_LEVEL: 'silent',
    }),
    { plugins },
  );
  await app.ready();
  try {
    await waitFor(`group ${groupId} to commit offset ${endOffset}`, async () => {
      return (await committedOffset(groupId, topic)) === endOffset;
    });
    return (await app.inject('/metrics')).body;
  } finally {
    await app.close();
    await deleteGroup(groupId);
  }
}

describe('movies-sync applying a change stream from Kafka', () => {
  const topic = `movies-sync-test-${unique()}`;
  const stream = history();
  let endOffset: number;
  let target: Awaited<ReturnType<typeof throwAwaySchema>>;
  const client = () => new pg.Client({ connectionString: target.url });
  let reader: pg.Client;

  beforeAll(async () => {
    target = await throwAwaySchema('sync_test');
    endOffset = await topicWith(topic, stream.messages);
    reader = client();
    await reader.connect();
  });
  afterAll(async () => {
    await reader?.end();
    await target?.drop();
    await deleteTopic(topic);
  });

  it('applies snapshot, inserts, updates, a genre rename and deletes; keeps ids; counts them', async () => {
    // A plugin as the status publisher is one: it reads the lag.
    let lag: Lag | undefined;
    const metrics = await syncUntilDone(target.url, topic, endOffset, undefined, [
      async (_app, options) => {
        lag = options.lag;
      },
    ]);
    expect(lag?.lagMs()).toEqual(expect.any(Number));
    expect(lag?.lagP99Ms()).toEqual(expect.any(Number));
    expect(await served(reader)).toEqual(expected);
    // The identity continues above the highest id copied.
    const { rows } = await reader.query(
      "INSERT INTO movies (title, description, rating) VALUES ('local', '', 0) RETURNING id",
    );
    expect(rows[0].id).toBe(41);
    await reader.query('DELETE FROM movies WHERE id = 41');
    expect(metrics).toContain('movies_sync_units_applied_total{kind="transaction"} 6');
    expect(metrics).toContain('movies_sync_rows_applied_total{table="movies"} 7');
    expect(metrics).toMatch(/movies_sync_apply_lag_seconds_count \d+/);
    expect(metrics).toContain(`movies_sync_committed_offset ${endOffset}`);
  });

  it('replaying from the start, or from the middle of a transaction, leaves the same state', async () => {
    await syncUntilDone(target.url, topic, endOffset, 0);
    expect(await served(reader)).toEqual(expected);
    // Offset 10 is inside the first transaction (after its movie, before its links).
    await syncUntilDone(target.url, topic, endOffset, 10);
    expect(await served(reader)).toEqual(expected);
  });

  it('replaying into an empty database from the middle converges to the changes from there on', async () => {
    const fresh = await throwAwaySchema('sync_test');
    const own = new pg.Client({ connectionString: fresh.url });
    await own.connect();
    try {
      // From the rename on: the deleted movie 2 and the copied movies of the snapshot are not in this part.
      const renameAt = stream.messages.findIndex((m) => m.includes('"Drama!"')) - 1;
      await syncUntilDone(fresh.url, topic, endOffset, renameAt);
      expect(await served(own)).toEqual([
        { id: 7, title: 'Seven', description: 'about Seven', rating: 7.5, genres: [] },
      ]);
    } finally {
      await own.end();
      await fresh.drop();
    }
  });

  it('skips and counts a malformed message, and applies what follows it', async () => {
    const badTopic = `movies-sync-test-${unique()}`;
    const writer = new StreamWriter();
    writer.tx([['c', 'movies', movie(5, 'Five')]]);
    const messages = ['{"not": "debezium"}', 'not json', ...writer.messages];
    const fresh = await throwAwaySchema('sync_test');
    const own = new pg.Client({ connectionString: fresh.url });
    await own.connect();
    try {
      const metrics = await syncUntilDone(fresh.url, badTopic, await topicWith(badTopic, messages));
      expect(metrics).toContain('movies_sync_messages_skipped_total{reason="malformed"} 2');
      expect((await served(own)).map((row) => row.id)).toEqual([5]);
    } finally {
      await own.end();
      await fresh.drop();
      await deleteTopic(badTopic);
    }
  });
});

describe('a concurrent reader of the movies database', () => {
  it('never sees a movie without the genres committed with it', async () => {
    const topic = `movies-sync-test-${unique()}`;
    const genres = ['A', 'B', 'C', 'D', 'E'];
    const writer = new StreamWriter();
    writer.snapshot(genres.map((name, i) => ['genres', { id: i + 1, name }]));
    for (let id = 1; id <= 150; id++) {
      writer.tx([
        ['c', 'movies', movie(id, `M${id}`)],
        ...genres.map(
          (_, i) => ['c', 'movie_genres', link(id, i + 1, i + 1)] as ['c', 'movie_genres', object],
        ),
      ] as never);
    }
    const target = await throwAwaySchema('sync_test');
    const reader = new pg.Client({ connectionString: target.url });
    await reader.connect();
    const seen = new Set<string>();
    let reading = true;
    const readLoop = (async () => {
      while (reading) {
        const { rows } = await reader.query('SELECT cardinality(genres) AS n FROM movies');
        for (const row of rows) seen.add(String(row.n));
      }
    })();
    try {
      await syncUntilDone(target.url, topic, await topicWith(topic, writer.messages));
      reading = false;
      await readLoop;
      expect(seen).toEqual(new Set(['5']));
      const { rows } = await reader.query('SELECT count(*)::int AS n FROM movies');
      expect(rows[0].n).toBe(150);
    } finally {
      reading = false;
      await readLoop.catch(() => {});
      await reader.end();
      await target.drop();
      await deleteTopic(topic);
    }
  });
});
