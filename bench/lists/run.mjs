// Lists streamed from a cursor (issue 22, item 1) against the build before them, on the real PostgreSQL.
//
// 1. Head to head: this monolith and a baseline build (BENCH_BASELINE_MONOLITH, e.g. main's
//    services/monolith/dist/server.js) pinned together to one core, each loaded at the same time by its own
//    wrk on the other core, GET /api/movies of 200 ordinary movies. The kernel shares the core evenly, so
//    the ratio of their req/s is the inverse ratio of their CPU per request, whatever else loads the machine.
//    Target: this build >= 0.95 x the baseline.
// 2. A 135 MB list (150 movies of 900 KB) read once by curl from each build alone: MB/s, and the growth of
//    the monolith's RSS (sampled from /proc every 10 ms). Target for this build: >= 100 MB/s, < 64 MB.
//
// Each list lives in a schema of its own (migrated, seeded movies removed), dropped at the end.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const here = dirname(fileURLToPath(import.meta.url));
const ours = join(here, '../../services/monolith/dist/server.js');
const migrateScript = join(here, '../../services/monolith/dist/migrate.js');
const baseline = process.env.BENCH_BASELINE_MONOLITH;
const DATABASE_URL =
  process.env.DATABASE_URL ?? 'postgres://cinemaabyss:cinemaabyss@127.0.0.1:5432/cinemaabyss';
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);

for (const [file, hint] of [
  [ours, 'build it: pnpm --filter @cinemaabyss/monolith... build'],
  [baseline ?? '', 'set BENCH_BASELINE_MONOLITH to the dist/server.js of the build to compare with'],
]) {
  if (!existsSync(file)) {
    console.error(`bench/lists: ${file || 'no baseline'} is missing: ${hint}`);
    process.exit(1);
  }
}

const children = new Set();
const admin = new pg.Client({ connectionString: DATABASE_URL });
await admin.connect();
const schemas = [];
const cleanup = async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
};
process.on('SIGINT', () => cleanup().finally(() => process.exit(130)));

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** A schema with the monolith's tables and only the movies `insert` adds; its connection URL. */
async function schemaWith(name, insert) {
  const schema = `bench_lists_${name}_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  await promisify(execFile)(process.execPath, [migrateScript], {
    env: { ...process.env, DATABASE_URL: url.href, LOG_LEVEL: 'warn' },
  });
  await admin.query(`DELETE FROM ${schema}.movie_genres; DELETE FROM ${schema}.movies`);
  await admin.query(insert(schema));
  await admin.query(`ANALYZE ${schema}.movies`);
  return url.href;
}

async function startMonolith(server, databaseUrl, pin) {
  const port = await freePort();
  const args = [server];
  const [command, argv] = pin
    ? ['taskset', ['-c', pin, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command, argv, {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'warn',
      SHUTDOWN_DELAY_MS: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (
    !(await fetch(`${base}/ready`).then(
      (res) => res.ok,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error(`${server} was not ready within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, base };
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function wrk(url, seconds, pin) {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, url];
  const { stdout } = await promisify(execFile)('taskset', ['-c', pin, 'wrk', ...args], { encoding: 'utf8' });
  const errors = Number(stdout.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  return { rps: Number(stdout.match(/Requests\/sec:\s+([\d.]+)/)[1]), errors };
}

const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const rssMb = (pid) =>
  Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
/** The pid of the node process under `taskset` (taskset execs it, so it is the same). */
const pidOf = (child) => child.pid;

const pinnable = (readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1] ?? '')
  .split(',')
  .flatMap((range) => {
    const [from, to = from] = range.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
  });
if (pinnable.length < 2) throw new Error('bench/lists needs two CPUs it may pin to');
const [loadCpu, serverCpu] = pinnable;

console.log(
  `bench/lists: ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), node ${process.version}, baseline ${baseline}\n`,
);

// 1. 200 ordinary movies: a description of about 150 characters and one to three genres each.
const ordinary = await schemaWith(
  'ordinary',
  (schema) => `
  INSERT INTO ${schema}.movies (title, description, rating)
    SELECT 'Movie ' || i, 'A film about ' || md5(i::text) || ', ' || md5((i * 7)::text) || ' and what became of '
           || md5((i * 13)::text) || '.', (i % 100) / 10.0
      FROM generate_series(1, 200) AS i;
  INSERT INTO ${schema}.genres (name) SELECT 'Genre ' || g FROM generate_series(1, 12) AS g;
  INSERT INTO ${schema}.movie_genres (movie_id, genre_id, position)
    SELECT m.id, g.id, g.id - (m.id % 10)
      FROM ${schema}.movies m JOIN ${schema}.genres g ON g.id BETWEEN (m.id % 10) + 1 AND (m.id % 10) + 1 + m.id % 3;`,
);
const pair = [
  await startMonolith(ours, ordinary, serverCpu),
  await startMonolith(baseline, ordinary, serverCpu),
];
const bodies = await Promise.all(pair.map(async ({ base }) => (await fetch(`${base}/api/movies`)).text()));
if (bodies[0] !== bodies[1]) throw new Error('the two builds answer GET /api/movies differently');
const list = JSON.parse(bodies[0]);
console.log(
  `head to head, GET /api/movies of ${list.length} movies (${bodies[0].length} bytes, the same bytes from both builds), ` +
    `both pinned to CPU ${serverCpu}, wrk -c${CONNECTIONS} each on CPU ${loadCpu}, ${ROUNDS} rounds of ${DURATION_S} s:`,
);
const urls = pair.map(({ base }) => `${base}/api/movies`);
await Promise.all(urls.map((url) => wrk(url, 2, loadCpu)));
const ratios = [];
const cpu = [[], []];
for (let round = 0; round < ROUNDS; round++) {
  const before = pair.map(({ child }) => cpuSeconds(pidOf(child)));
  const runs = await Promise.all(urls.map((url) => wrk(url, DURATION_S, loadCpu)));
  runs.forEach((run, i) => {
    cpu[i].push(((cpuSeconds(pidOf(pair[i].child)) - before[i]) * 1e6) / (run.rps * DURATION_S));
  });
  ratios.push(runs[0].rps / runs[1].rps);
  console.log(
    `  round ${round + 1}: streaming ${Math.round(runs[0].rps)} req/s, baseline ${Math.round(runs[1].rps)} req/s: ` +
      `${(runs[0].rps / runs[1].rps).toFixed(2)} x${runs.some((run) => run.errors) ? ` (non-2xx: ${runs.map((r) => r.errors).join('/')})` : ''}`,
  );
}
await Promise.all(pair.map(({ child }) => stop(child)));
const ratio = median(ratios);
console.log(
  `  median ${ratio.toFixed(2)} x (target >= 0.95: ${ratio >= 0.95 ? 'met' : 'MISSED'}); CPU µs/req ` +
    `streaming ${median(cpu[0]).toFixed(0)}, baseline ${median(cpu[1]).toFixed(0)}\n`,
);

// 2. 150 movies of 900 KB.
const big = await schemaWith(
  'big',
  (schema) => `INSERT INTO ${schema}.movies (title, description, rating)
    SELECT 'Big ' || i, repeat(chr(65 + i % 26), 900000), 5 FROM generate_series(1, 150) AS i`,
);
console.log(
  'a 135 MB list, GET /api/movies read once by curl (after one read to warm up), each build alone:',
);
const results = {};
for (const [name, server] of [
  ['streaming', ours],
  ['baseline', baseline],
]) {
  const { child, base } = await startMonolith(server, big, serverCpu);
  const curl = (into) =>
    promisify(execFile)('taskset', [
      '-c',
      loadCpu,
      'curl',
      '-s',
      '-o',
      into,
      '-w',
      '%{http_code} %{size_download} %{time_total}',
      `${base}/api/movies`,
    ]);
  await curl('/dev/null');
  const pid = pidOf(child);
  const rssBefore = rssMb(pid);
  let peak = rssBefore;
  const sampler = setInterval(() => {
    if (child.exitCode === null) peak = Math.max(peak, rssMb(pid));
  }, 10);
  const [status, bytes, seconds] = (await curl('/dev/null')).stdout.split(' ').map(Number);
  clearInterval(sampler);
  await stop(child);
  results[name] = { status, bytes, mbPerS: bytes / 1e6 / seconds, rssBefore, growth: peak - rssBefore };
  console.log(
    `  ${name}: ${status}, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s = ${(bytes / 1e6 / seconds).toFixed(0)} MB/s; ` +
      `RSS ${rssBefore.toFixed(0)} -> ${peak.toFixed(0)} MB (+${(peak - rssBefore).toFixed(0)} MB)`,
  );
}
const { mbPerS, growth } = results.streaming;
console.log(
  `  streaming: ${mbPerS.toFixed(0)} MB/s (target >= 100: ${mbPerS >= 100 ? 'met' : 'MISSED'}), RSS growth ` +
    `${growth.toFixed(0)} MB (target < 64: ${growth < 64 ? 'met' : 'MISSED'}); ` +
    `${(results.streaming.mbPerS / results.baseline.mbPerS).toFixed(2)} x the baseline's MB/s`,
);
await cleanup();
