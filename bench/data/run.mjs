// The movies data path, measured once (issue 27):
//   1. Snapshot apply: a 100 000-movie initial snapshot in the connector's message shape (movies, 24 genres,
//      2-3 genres per movie) written to a topic of this run, applied by the built movies-sync (a separate
//      process, as deployed) into a schema of this run in the movies database. Prints movies/s from the first
//      unit applied to the last offset committed (the served table rebuilt included).
//   2. Commit-to-readable lag of single writes: BENCH_WRITES transactions in the monolith's database (a movie
//      and a genre link each), each timed from its COMMIT returning to the movie answering 200 through the
//      movies service. Needs the real capture (Connect on 8083), a movies-sync on the movies database and a
//      movies service (MOVIES_SERVICE_URL) reading it. Skipped with BENCH_SKIP_LAG=1.
// Cleans up after itself (topic, schema, the movies it wrote). About a minute.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';

const here = dirname(fileURLToPath(import.meta.url));
const movies = join(here, '../../services/movies');
const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const MOVIES_DB = process.env.MOVIES_DATABASE_URL ?? 'postgres://movies:movies@127.0.0.1:5432/movies';
const MONOLITH_DB =
  process.env.DATABASE_URL ?? 'postgres://cinemaabyss:cinemaabyss@127.0.0.1:5432/cinemaabyss';
const MOVIES_SERVICE_URL = process.env.MOVIES_SERVICE_URL ?? 'http://127.0.0.1:8081';
const MOVIES = Number(process.env.BENCH_MOVIES ?? 100_000);
const WRITES = Number(process.env.BENCH_WRITES ?? 200);
const run = `bench_data_${Date.now()}`;

const { migrateSchema } = await import(pathToFileURL(join(movies, 'dist/schema.js')).href);
const kafka = new Kafka({ clientId: 'bench-data', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING });
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)];

/** The initial snapshot as Debezium writes it: one message per row, every read at the snapshot position. */
function* snapshotMessages() {
  const lsn = 900_000_000;
  const source = (table, snapshot) => ({
    version: '3.6.1.Final',
    connector: 'postgresql',
    name: 'cinemaabyss',
    ts_ms: Date.now(),
    snapshot,
    db: 'cinemaabyss',
    sequence: `[null,"${lsn}"]`,
    schema: 'public',
    table,
    txId: 4242,
    lsn,
    xmin: null,
  });
  const read = (table, after, snapshot = 'true') =>
    JSON.stringify({
      before: null,
      after,
      source: source(table, snapshot),
      transaction: null,
      op: 'r',
      ts_ms: Date.now(),
    });
  for (let id = 1; id <= MOVIES; id++) {
    yield read('movies', {
      id,
      title: `Bench movie ${id}`,
      description: `A movie of the benchmark, number ${id}, with a description of a usual length.`,
      rating: (id % 100) / 10,
    });
  }
  for (let id = 1; id <= 24; id++) yield read('genres', { id, name: `Genre ${id}` });
  for (let id = 1; id <= MOVIES; id++) {
    const count = 2 + (id % 2);
    for (let position = 1; position <= count; position++) {
      const last = id === MOVIES && position === count;
      yield read(
        'movie_genres',
        { movie_id: id, genre_id: ((id + position * 7) % 24) + 1, position },
        last ? 'last' : 'true',
      );
    }
  }
}

async function metricsOf(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const units = [...text.matchAll(/^movies_sync_units_applied_total\{[^}]*\} (\S+)$/gm)].reduce(
    (a, m) => a + Number(m[1]),
    0,
  );
  return { units, committed: value('movies_sync_committed_offset') };
}

async function snapshotThroughput() {
  const topic = run.replaceAll('_', '-');
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true });
  await Promise.all([admin.connect(), producer.connect()]);
  const db = new pg.Client({ connectionString: MOVIES_DB });
  await db.connect();
  await db.query(`CREATE SCHEMA ${run}`);
  await migrateSchema(MOVIES_DB, { info() {}, warn() {} }, run);
  const url = new URL(MOVIES_DB);
  url.searchParams.set('options', `-c search_path=${run}`);
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
    });
    let batch = [];
    let total = 0;
    const producing = Date.now();
    for (const value of snapshotMessages()) {
      batch.push({ value });
      if (batch.length === 1_000) {
        await producer.send({ topic, acks: -1, messages: batch });
        total += batch.length;
        batch = [];
      }
    }
    if (batch.length) await producer.send({ topic, acks: -1, messages: batch });
    total += batch.length;
    console.log(
      `wrote ${total} snapshot messages (${MOVIES} movies) in ${((Date.now() - producing) / 1000).toFixed(1)} s`,
    );

    const port = await freePort();
    const child = spawn('node', ['dist/sync/server.js'], {
      cwd: movies,
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: url.href,
        KAFKA_BROKERS: BROKERS,
        SYNC_TOPIC: topic,
        SYNC_GROUP_ID: `${topic}-group`,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.add(child);
    const started = Date.now();
    let firstApplied;
    for (;;) {
      const m = await metricsOf(port).catch(() => undefined);
      if (m && m.units > 0 && firstApplied === undefined) firstApplied = Date.now();
      if (m && m.committed === total) break;
      if (Date.now() - started > 600_000) throw new Error('movies-sync did not finish within 10 minutes');
      await sleep(50);
    }
    const done = Date.now();
    // Stopped (and gone) before its topic is deleted.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    children.delete(child);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE cardinality(genres) >= 2)::int AS with_genres FROM ${run}.movies`,
    );
    const seconds = (done - firstApplied) / 1000;
    console.log(
      `snapshot apply: ${MOVIES} movies (${total} messages) in ${seconds.toFixed(2)} s = ` +
        `${Math.round(MOVIES / seconds)} movies/s, ${Math.round(total / seconds)} messages/s ` +
        `(${((done - started) / 1000).toFixed(1)} s with process start and group join); ` +
        `served rows ${rows[0].n}, with their genres ${rows[0].with_genres}`,
    );
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.deleteGroups([`${topic}-group`]).catch(() => {});
    await db.query(`DROP SCHEMA IF EXISTS ${run} CASCADE`);
    await Promise.all([admin.disconnect(), producer.disconnect(), db.end()]);
  }
}

async function singleWriteLag() {
  const monolith = new pg.Client({ connectionString: MONOLITH_DB });
  await monolith.connect();
  const lags = [];
  try {
    const { rows: genres } = await monolith.query('SELECT id FROM genres ORDER BY id LIMIT 1');
    if (!genres[0]) throw new Error('the monolith has no genre to link');
    for (let i = 0; i < WRITES; i++) {
      await monolith.query('BEGIN');
      const { rows } = await monolith.query(
        "INSERT INTO movies (title, description, rating) VALUES ($1, 'lag probe', 5) RETURNING id",
        [`${run} ${i}`],
      );
      await monolith.query('INSERT INTO movie_genres (movie_id, genre_id, position) VALUES ($1, $2, 1)', [
        rows[0].id,
        genres[0].id,
      ]);
      await monolith.query('COMMIT');
      const committed = performance.now();
      for (;;) {
        const res = await fetch(`${MOVIES_SERVICE_URL}/api/movies?id=${rows[0].id}`);
        await res.arrayBuffer();
        if (res.status === 200) break;
        if (performance.now() - committed > 30_000)
          throw new Error(`movie ${rows[0].id} not readable after 30 s`);
        await sleep(2);
      }
      lags.push(performance.now() - committed);
      await sleep(20);
    }
  } finally {
    await monolith.query('DELETE FROM movies WHERE title LIKE $1', [`${run} %`]);
    await monolith.end();
  }
  lags.sort((a, b) => a - b);
  console.log(
    `commit-to-readable through the movies service, ${lags.length} single writes: ` +
      `p50 ${percentile(lags, 0.5).toFixed(0)} ms, p99 ${percentile(lags, 0.99).toFixed(0)} ms, ` +
      `max ${lags.at(-1).toFixed(0)} ms`,
  );
}

await snapshotThroughput();
if (process.env.BENCH_SKIP_LAG !== '1') await singleWriteLag();
