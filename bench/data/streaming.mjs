// Issue 27's streaming acceptance: BENCH_RATE (100) writes a second for BENCH_SECONDS (60) through the
// monolith (half inserts through its API, a movie with two genres each; updates and deletes in SQL), with
// each change's lag from acknowledged by the monolith to readable in the movies database, and at the end
// every change readable on the movies service (GET /api/movies). Target on this machine: p99 <= 500 ms.
//
// Writers: BENCH_WORKERS (4) open-loop writers, each paced at its share of the rate, each on movies of its
// own; an update or delete only on a movie whose previous change has been seen applied, so every change is
// observed on its own. A poller reads the pending changes from the movies database every POLL_MS (10), so a
// measured lag is late by at most that. The applier's own view (commit to applied, from the status document
// in Redis) is printed beside it.
//
// Runs against the stack the environment names (scripts/stack, or bench/data/own-stack.sh up + its env).
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const { createDatabase } = await import(pathToFileURL(join(repo, 'packages/postgres/dist/index.js')).href);
const { Redis } = await import('ioredis');

const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const POLL_MS = 10;
const MONOLITH_URL = process.env.MONOLITH_URL ?? 'http://127.0.0.1:8080';
const MOVIES_SERVICE_URL = process.env.MOVIES_SERVICE_URL ?? 'http://127.0.0.1:8081';
const OWNER_URL = process.env.DATABASE_URL ?? 'postgres://cinemaabyss:cinemaabyss@127.0.0.1:5432/cinemaabyss';
const MOVIES_URL = process.env.MOVIES_DATABASE_URL ?? 'postgres://movies:movies@127.0.0.1:5432/movies';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const GENRES = ['Drama', 'Crime', 'Action', 'Sci-Fi', 'Thriller'];

const silent = { info() {}, warn() {} };
const monolith = createDatabase(OWNER_URL, silent, { max: WORKERS });
const movies = createDatabase(MOVIES_URL, silent, { max: 1 });
const tag = `bench-streaming ${process.pid}-${Date.now()}`;

/** id -> { expected title (null: deleted), acknowledged at } for changes not yet seen applied. */
const pending = new Map();
/** id -> expected title or null, after the last acknowledged change. */
const expected = new Map();
const lags = [];
const counts = { insert: 0, update: 0, delete: 0, failed: 0 };
let serial = 0;

async function insert(owned) {
  const n = ++serial;
  const movie = {
    title: `${tag} #${n}`,
    description: 'Written by bench/data/streaming.mjs',
    rating: (n % 100) / 10,
    genres: [GENRES[n % 5], GENRES[(n + 2) % 5]],
  };
  const response = await fetch(`${MONOLITH_URL}/api/movies`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(movie),
  });
  if (response.status !== 201) throw new Error(`POST /api/movies answered ${response.status}`);
  const { id } = await response.json();
  owned.add(id);
  acknowledged(id, movie.title, 'insert');
}

async function update(id) {
  const title = `${tag} #${++serial} (updated)`;
  await monolith.query('UPDATE movies SET title = $2, rating = $3 WHERE id = $1', [
    id,
    title,
    (serial % 100) / 10,
  ]);
  acknowledged(id, title, 'update');
}

async function remove(id, owned) {
  await monolith.query('DELETE FROM movies WHERE id = $1', [id]);
  owned.delete(id);
  acknowledged(id, null, 'delete');
}

function acknowledged(id, title, kind) {
  counts[kind]++;
  expected.set(id, title);
  pending.set(id, { title, at: performance.now() });
}

async function writer(until) {
  const owned = new Set();
  const gapMs = (1_000 * WORKERS) / RATE;
  let next = performance.now();
  while (performance.now() < until) {
    const settled = [...owned].filter((id) => !pending.has(id));
    const id = settled[Math.floor(Math.random() * settled.length)];
    const roll = Math.random();
    try {
      if (settled.length < 5 || roll < 0.5) await insert(owned);
      else if (roll < 0.85) await update(id);
      else await remove(id, owned);
    } catch (error) {
      counts.failed++;
      if (counts.failed < 5) console.error(`write failed: ${error.message}`);
    }
    next = Math.max(next + gapMs, performance.now() - gapMs);
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

let polling = true;
async function poller() {
  while (polling || pending.size > 0) {
    if (pending.size > 0) {
      const ids = [...pending.keys()];
      const { rows } = await movies.query('SELECT id, title FROM movies WHERE id = ANY($1::int[])', [ids]);
      const seen = new Map(rows.map((row) => [row.id, row.title]));
      const now = performance.now();
      for (const id of ids) {
        const change = pending.get(id);
        if ((seen.get(id) ?? null) === change.title) {
          lags.push(now - change.at);
          pending.delete(id);
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((sorted.length * p) / 100) - 1)];

console.log(`streaming: ${RATE} writes/s for ${SECONDS} s through ${MONOLITH_URL}, ${WORKERS} writers`);
const load = loadavg();
const started = performance.now();
const polled = poller();
await Promise.all(Array.from({ length: WORKERS }, () => writer(started + SECONDS * 1_000)));
const wrote = performance.now() - started;
polling = false;
const drainDeadline = performance.now() + 60_000;
while (pending.size > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 50));
const unapplied = pending.size;
pending.clear();
await polled;

// Every change readable on the movies service: its list, as a client reads it.
const served = new Map(
  (await (await fetch(`${MOVIES_SERVICE_URL}/api/movies`)).json()).map((m) => [m.id, m.title]),
);
let wrong = 0;
for (const [id, title] of expected) if ((served.get(id) ?? null) !== title) wrong++;

const redis = new Redis(REDIS_URL, { lazyConnect: true });
await redis.connect();
const status = JSON.parse((await redis.get('cinemaabyss:data:movies')) ?? 'null');
await redis.quit();

lags.sort((a, b) => a - b);
const total = counts.insert + counts.update + counts.delete;
const ms = (value) => `${Math.round(value)} ms`;
console.log(
  `writes: ${total} acknowledged in ${(wrote / 1000).toFixed(1)} s (${(total / (wrote / 1000)).toFixed(1)}/s): ` +
    `${counts.insert} inserts, ${counts.update} updates, ${counts.delete} deletes; ${counts.failed} failed`,
);
console.log(
  `lag, acknowledged -> readable in the movies database (${lags.length} changes): p50 ${ms(percentile(lags, 50))}, ` +
    `p90 ${ms(percentile(lags, 90))}, p99 ${ms(percentile(lags, 99))}, max ${ms(lags.at(-1))}`,
);
console.log(
  `applier's own (commit -> applied, last 60 s): lagP99Ms ${status?.lagP99Ms}, parity ${status?.parity?.state}`,
);
console.log(
  `movies service: ${expected.size} movies written, ${wrong} not as last written (${unapplied} never seen applied)`,
);
console.log(
  `load average at start: ${load.map((l) => l.toFixed(2)).join(' ')}; at end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

await monolith.query('DELETE FROM movies WHERE title LIKE $1', [`${tag}%`]);
await Promise.all([monolith.close(), movies.close()]);
process.exitCode = wrong === 0 && unapplied === 0 ? 0 : 1;
