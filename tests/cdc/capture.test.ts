import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoints, repoRoot } from '../deploy/tools.js';

// Change data capture on the running stack (scripts/stack up): Debezium on Kafka Connect reads the monolith's
// database and writes one ordered stream, BEGIN, rows..., END per transaction, to cinemaabyss.movies.cdc
// (docs/data.md#capture). A consumer of its own, positioned at the topic's end, sees what this file writes.
const connectorFile = join(repoRoot, 'deploy/connect/cinemaabyss-movies.json');
const connectorName = basename(connectorFile, '.json');
const worker = JSON.parse(readFileSync(join(repoRoot, 'deploy/connect/worker.json'), 'utf8')) as {
  port: number;
};
const connectUrl = process.env.CONNECT_URL ?? `http://127.0.0.1:${worker.port}`;
const monolithUrl = process.env.MONOLITH_URL ?? `http://127.0.0.1:${endpoints.monolith.port}`;
const databaseUrl =
  process.env.DATABASE_URL ?? 'postgres://cinemaabyss:cinemaabyss@127.0.0.1:5432/cinemaabyss';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const topic = 'cinemaabyss.movies.cdc';

interface Marker {
  status: 'BEGIN' | 'END';
  id: string;
  event_count: number | null;
}
interface Change {
  op: 'r' | 'c' | 'u' | 'd';
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: { table: string; txId: number; lsn: number; ts_ms: number };
  transaction: { id: string } | null;
}
type Event = Marker | Change;
interface Received {
  event: Event;
  at: number;
}

const received: Received[] = [];
const kafka = new Kafka({ clientId: 'cdc-capture-test', brokers, logLevel: logLevel.NOTHING });
let consumer: Consumer;
const db = new pg.Client({ connectionString: databaseUrl });
let movieId: number | undefined;

function isMarker(event: Event): event is Marker {
  return 'status' in event;
}
/** A transaction's id as both markers and data events carry it: the txId (the marker's lsn part differs). */
function txOf(event: Event): string {
  return isMarker(event) ? (event.id.split(':')[0] ?? event.id) : String(event.source.txId);
}

/** Polls what the consumer has received until `find` returns something, or fails naming what was awaited. */
async function waitFor<T>(what: string, find: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} on ${topic} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The whole source transaction that holds a change matching `match`, BEGIN to END, once END has arrived. */
function transactionWith(match: (change: Change) => boolean): Event[] | undefined {
  const hit = received.find(({ event }) => !isMarker(event) && match(event));
  if (!hit) return undefined;
  const tx = txOf(hit.event);
  const events = received.map(({ event }) => event);
  const begin = events.findIndex((e) => isMarker(e) && e.status === 'BEGIN' && txOf(e) === tx);
  const end = events.findIndex((e) => isMarker(e) && e.status === 'END' && txOf(e) === tx);
  return begin >= 0 && end > begin ? events.slice(begin, end + 1) : undefined;
}

/** `table op`, or the marker's status: the shape of a transaction at a glance. */
function describeEvent(event: Event): string {
  return isMarker(event) ? event.status : `${event.source.table} ${event.op}`;
}

beforeAll(async () => {
  await db.connect();
  const admin = kafka.admin();
  await admin.connect();
  const [partition] = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  if (!partition)
    throw new Error(`${topic} has no partition: is the connector registered (scripts/stack up)?`);
  consumer = kafka.consumer({ groupId: `cdc-capture-test-${process.pid}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) received.push({ event: JSON.parse(message.value.toString()), at: Date.now() });
    },
  });
  // From the end as it was before this file wrote anything: nothing of ours can be missed.
  consumer.seek({ topic, partition: partition.partition, offset: partition.high });
});

afterAll(async () => {
  if (movieId !== undefined) await db.query('DELETE FROM movies WHERE id = $1', [movieId]);
  await consumer?.disconnect();
  await db.end();
});

describe('change data capture of the movie tables', () => {
  it('runs the connector of deploy/connect with its task', async () => {
    const status = (await (await fetch(`${connectUrl}/connectors/${connectorName}/status`)).json()) as {
      connector: { state: string };
      tasks: Array<{ state: string }>;
    };
    expect(status.connector.state).toBe('RUNNING');
    expect(status.tasks.map((task) => task.state)).toEqual(['RUNNING']);
    // Registered as committed: a changed file is PUT again by scripts/stack up.
    const config = await (await fetch(`${connectUrl}/connectors/${connectorName}/config`)).json();
    expect(config).toEqual(JSON.parse(readFileSync(connectorFile, 'utf8')));
  });

  it('streams a movie posted with two genres as one transaction: BEGIN, movie, genres, END', async () => {
    const response = await fetch(`${monolithUrl}/api/movies`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        title: `CDC capture test ${process.pid}-${Date.now()}`,
        description: 'Inserted by tests/cdc/capture.test.ts',
        rating: 6.5,
        genres: ['Drama', 'Crime'],
      }),
    });
    expect(response.status).toBe(201);
    const movie = (await response.json()) as { id: number };
    movieId = movie.id;
    const { rows: genres } = await db.query<{ id: number; name: string }>(
      "SELECT id, name FROM genres WHERE name IN ('Drama', 'Crime')",
    );
    const genreId = (name: string) => genres.find((genre) => genre.name === name)?.id;

    const tx = await waitFor('transaction of the posted movie', () =>
      transactionWith((c) => c.source.table === 'movies' && c.after?.id === movie.id),
    );
    expect(tx.map(describeEvent)).toEqual(['BEGIN', 'movies c', 'movie_genres c', 'movie_genres c', 'END']);
    const [, row, first, second, end] = tx as [Marker, Change, Change, Change, Marker];
    expect(row.after).toEqual({
      id: movie.id,
      title: expect.stringMatching(/^CDC capture test/),
      description: 'Inserted by tests/cdc/capture.test.ts',
      rating: 6.5,
    });
    expect([first.after, second.after]).toEqual([
      { movie_id: movie.id, genre_id: genreId('Drama'), position: 1 },
      { movie_id: movie.id, genre_id: genreId('Crime'), position: 2 },
    ]);
    expect(end.event_count).toBe(3);
    expect(row.transaction?.id).toBe((tx[0] as Marker).id);
  });

  it('streams an UPDATE and a DELETE made in SQL, each in commit order', async () => {
    expect(movieId).toBeDefined();
    await db.query('UPDATE movies SET rating = 7.25 WHERE id = $1', [movieId]);
    const committed = Date.now();
    const update = await waitFor('update of the movie', () =>
      transactionWith((c) => c.source.table === 'movies' && c.op === 'u' && c.after?.id === movieId),
    );
    expect(update.map(describeEvent)).toEqual(['BEGIN', 'movies u', 'END']);
    expect((update[1] as Change).after).toMatchObject({ id: movieId, rating: 7.25 });
    const arrived = received.find(({ event }) => event === update[1])?.at ?? Number.NaN;
    console.info(`commit to topic: ${arrived - committed} ms`);

    await db.query('DELETE FROM movies WHERE id = $1', [movieId]);
    const removal = await waitFor('delete of the movie', () =>
      transactionWith((c) => c.source.table === 'movies' && c.op === 'd' && c.before?.id === movieId),
    );
    // The genre links go with the movie (ON DELETE CASCADE), in the same transaction.
    expect(removal.map(describeEvent)).toEqual([
      'BEGIN',
      'movies d',
      'movie_genres d',
      'movie_genres d',
      'END',
    ]);
    expect((removal[1] as Change).after).toBeNull();
    movieId = undefined;
    // Commit order: the update's transaction before the delete's.
    expect((update[1] as Change).source.lsn).toBeLessThan((removal[1] as Change).source.lsn);
  });

  it('writes heartbeats while nothing else changes, so lag stays measurable', async () => {
    const since = received.length;
    const beats = await waitFor('two heartbeats', () => {
      const found = received
        .slice(since)
        .map(({ event }) => event)
        .filter((e): e is Change => !isMarker(e) && e.source.table === 'cdc_heartbeat');
      return found.length >= 2 ? (found as [Change, Change]) : undefined;
    });
    const [first, second] = beats;
    expect(first.after?.id).toBe(1);
    expect(second.source.ts_ms).toBeGreaterThan(first.source.ts_ms);
  });
});
