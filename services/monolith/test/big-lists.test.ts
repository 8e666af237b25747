import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { migrate } from '@cinemaabyss/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsDirectory } from '../src/schema.js';
import { silentLog, testConfig, unique } from './helpers.js';

// Issue 22, item 1: a list is never held whole in memory. The BUILT monolith runs as a child process with a
// small heap on a schema of its own holding 150 movies of 900 KB descriptions (legal: only the 1 MiB body
// limit bounds a description), a 135 MB list, and answers it three times at once. Read whole, that list
// took the RSS from 81 MB to 1.5 GB; with this heap the old code dies. MONOLITH_SERVER names another build.
const server = process.env.MONOLITH_SERVER ?? fileURLToPath(new URL('../dist/server.js', import.meta.url));
const MOVIES = 150;
const DESCRIPTION_CHARS = 900_000;
const PARALLEL = 3;
const HEAP_MB = 96;
// The monolith's memory limit in the Kubernetes manifests: one list held whole took 135 MB of rows and as
// much again of JSON, so three went far past it (1.5 GB measured).
const RSS_LIMIT_MB = 256;

const { DATABASE_URL } = testConfig();
const schema = `big_lists_${unique()}`;
const admin = new pg.Client({ connectionString: DATABASE_URL });
let child: ChildProcess;
let base: string;
let stderr = '';
let expected: { sha256: string; bytes: number };

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const rssMb = (pid: number) =>
  Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

beforeAll(async () => {
  if (!existsSync(server)) throw new Error(`${server} is missing: run \`pnpm -r build\` first`);
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await migrate({ databaseUrl: DATABASE_URL, directory: migrationsDirectory, log: silentLog, schema });
  // Only the big movies: the seeded ones go, so the expected answer is known here.
  await admin.query(`DELETE FROM ${schema}.movie_genres`);
  await admin.query(`DELETE FROM ${schema}.movies`);
  const { rows } = await admin.query<{ id: number; title: string; letter: string }>(
    `INSERT INTO ${schema}.movies (title, description, rating)
     SELECT 'Big ' || i, repeat(chr(65 + i % 26), $1), 5 FROM generate_series(1, $2) AS i
     RETURNING id, title, chr(65 + substr(title, 5)::integer % 26) AS letter`,
    [DESCRIPTION_CHARS, MOVIES],
  );
  // The answer as JSON.stringify writes the list, hashed movie by movie so it is never held whole here.
  const hash = createHash('sha256');
  let bytes = 0;
  rows.sort((a, b) => a.id - b.id);
  rows.forEach(({ id, title, letter }, i) => {
    const movie = { id, title, description: letter.repeat(DESCRIPTION_CHARS), rating: 5, genres: [] };
    const text = (i === 0 ? '[' : ',') + JSON.stringify(movie);
    hash.update(text);
    bytes += Buffer.byteLength(text);
  });
  hash.update(']');
  expected = { sha256: hash.digest('hex'), bytes: bytes + 1 };

  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, server], {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: url.href,
      LOG_LEVEL: 'warn',
      SHUTDOWN_DELAY_MS: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the monolith exited at start:\n${stderr}`);
    if (
      await fetch(`${base}/ready`).then(
        (res) => res.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`the monolith was not ready within 15 s:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

/** GET /api/movies read to its end: status, the body's hash and size (never held whole). */
async function readList() {
  const res = await fetch(`${base}/api/movies`);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { status: res.status, type: res.headers.get('content-type'), sha256: hash.digest('hex'), bytes };
}

describe('a 135 MB list of movies on a small heap', () => {
  it('is answered in full to three clients at once, with bounded memory, and the process lives', async () => {
    const pid = child.pid as number;
    const baseline = rssMb(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      if (child.exitCode === null) peak = Math.max(peak, rssMb(pid));
    }, 20);
    try {
      const answers = await Promise.allSettled(Array.from({ length: PARALLEL }, readList));
      expect(child.exitCode, `the monolith died:\n${stderr.slice(-2000)}`).toBeNull();
      for (const answer of answers) {
        expect(answer.status === 'fulfilled' ? answer.value : answer.reason).toEqual({
          status: 200,
          type: 'application/json; charset=utf-8',
          ...expected,
        });
      }
    } finally {
      clearInterval(sampler);
    }
    expect(peak, `RSS from ${baseline.toFixed(0)} MB to ${peak.toFixed(0)} MB`).toBeLessThan(RSS_LIMIT_MB);
    console.log(
      `${PARALLEL} x ${(expected.bytes / 1e6).toFixed(0)} MB lists: RSS ${baseline.toFixed(0)} -> ${peak.toFixed(0)} MB`,
    );
  }, 60_000);
});
