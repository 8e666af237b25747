// Side-by-side benchmark of the gateway on loopback, every contender against the same upstream:
// the upstream directly, nginx (split_clients), Express + http-proxy-middleware, bare Fastify +
// @fastify/http-proxy with a hard-coded percent, and this gateway reading its percent from Redis.
// Load comes from wrk: a C load generator leaves the 2 cores to the contenders, where a Node one
// (autocannon) would take a whole core from them and compress every difference.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const here = dirname(fileURLToPath(import.meta.url));
const gatewayServer = join(here, '../../services/gateway/dist/server.js');
const PERCENT = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const WARMUP_S = 2;
// Rounds interleave the contenders, odd rounds in order and even rounds reversed, so neither a noisy
// moment nor a position in the sequence favours one contender; each contender's best round is kept.
// CPU time per request of the proxy process (from /proc) is printed too: it does not depend on how
// the 2 cores happen to be shared during a run, so it shows the cost of reading the flag directly.
// BENCH_ROUNDS=0 skips them (and their targets): only the head-to-head comparisons run.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
// Another gateway build (a path to its dist/server.js, e.g. of main) to run head to head against this one.
// Another build of the gateway (e.g. main before a change, built in a `git worktree` under /tmp), run
// head to head against this one: the cost of the change, whatever else loads the machine.
const BASELINE_GATEWAY = process.env.BENCH_BASELINE_GATEWAY;
if (BASELINE_GATEWAY && !existsSync(BASELINE_GATEWAY)) {
  console.error(`BENCH_BASELINE_GATEWAY: no such file ${BASELINE_GATEWAY}; build that gateway first`);
  process.exit(1);
}
// BENCH_SHADOW=1: head to head, this gateway shadowing 100 % of /api/movies against itself with shadowing off.
const SHADOW = process.env.BENCH_SHADOW === '1';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const PATH = '/api/movies';

for (const [tool, hint] of [
  ['wrk', 'install it with: apt-get install wrk'],
  ['nginx', 'install it with: apt-get install nginx-light'],
  ['redis-server', 'install it with: apt-get install redis-server'],
  ['taskset', 'install it with: apt-get install util-linux'],
]) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    console.error(`bench/gateway needs ${tool}: ${hint}`);
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
const children = new Set();
const cleanup = () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function start(command, args, env = {}) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function waitForOk(url) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer 200 within 10 s`);
}

/** Runs wrk against `url`; `pin` is a taskset CPU list for wrk itself; `extra` are more wrk arguments. */
async function wrk(url, seconds, pin, extra = []) {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', ...extra, url];
  const [command, argv] = pin ? ['taskset', ['-c', pin, 'wrk', ...args]] : ['wrk', args];
  const { stdout: out } = await promisify(execFile)(command, argv, { encoding: 'utf8' });
  const ms = (label) => {
    const match = out.match(new RegExp(`^\\s+${label}%\\s+([\\d.]+)(us|ms|s)`, 'm'));
    if (!match) throw new Error(`unexpected wrk output:\n${out}`);
    return Number(match[1]) * { us: 0.001, ms: 1, s: 1000 }[match[2]];
  };
  // A slow or noisy machine gives some timeouts: they are counted and shown, and the run goes on.
  const socket = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const [connect, read, write, timeouts] = (socket?.slice(1) ?? []).map(Number);
  return {
    rps: Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1]),
    p50: ms('50'),
    p99: ms('99'),
    timeouts: timeouts ?? 0,
    errors:
      Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0) +
      (connect ?? 0) +
      (read ?? 0) +
      (write ?? 0),
  };
}

/** "" for a clean run, else e.g. " (7 timeouts, 2 errors)". */
const trouble = ({ timeouts, errors }) => {
  const parts = [timeouts && `${timeouts} timeouts`, errors && `${errors} errors`].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
};

function nginxConfig(port, upstream) {
  const { host } = new URL(upstream);
  return `
worker_processes 1;
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${work}/body;
  proxy_temp_path ${work}/proxy;
  fastcgi_temp_path ${work}/fastcgi;
  uwsgi_temp_path ${work}/uwsgi;
  scgi_temp_path ${work}/scgi;
  upstream monolith { server ${host}; keepalive 64; }
  upstream movies { server ${host}; keepalive 64; }
  split_clients "\${request_id}" $movies_upstream { ${PERCENT}% movies; * monolith; }
  server {
    listen 127.0.0.1:${port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    location /api/movies { proxy_pass http://$movies_upstream; }
    location /api { proxy_pass http://monolith; }
  }
}`;
}

// One upstream and one Redis for the whole run.
const upstreamPort = await freePort();
const upstream = `http://127.0.0.1:${upstreamPort}`;
start(process.execPath, [join(here, 'upstream.mjs')], { PORT: String(upstreamPort) });
await waitForOk(`${upstream}${PATH}`);

const redisPort = await freePort();
start('redis-server', [
  '--port',
  String(redisPort),
  '--bind',
  '127.0.0.1',
  '--save',
  '',
  '--appendonly',
  'no',
  '--dir',
  work,
]);
// The offline queue holds the write until redis-server accepts connections.
const redis = new Redis(`redis://127.0.0.1:${redisPort}`, {
  retryStrategy: (attempt) => (attempt < 50 ? 100 : null),
});
redis.on('error', () => {});
// 1000 ids in each list: every request with a user id is looked up in both before the percent decides.
const ids = (prefix) => JSON.stringify(Array.from({ length: 1000 }, (_, i) => `${prefix}-${i}`));
await redis.hset('cinemaabyss:flag:movies', {
  enabled: 'true',
  percent: String(PERCENT),
  allow: ids('allowed'),
  deny: ids('denied'),
});
// The same flag under another name with shadowing on, for the gateway that shadows (BENCH_SHADOW).
await redis.hset('cinemaabyss:flag:movies-shadowed', {
  enabled: 'true',
  percent: String(PERCENT),
  shadow_percent: '100',
  shadow_ignore: '[]',
  shadow_since: new Date().toISOString(),
});
redis.disconnect();
const shadowRoutes = join(work, 'routes-shadowed.yaml');
// JSON is YAML; the upstream URLs come from the env as for every gateway here.
writeFileSync(
  shadowRoutes,
  JSON.stringify({
    upstreams: { monolith: 'http://x', movies: 'http://x', events: 'http://x' },
    routes: [
      { prefix: '/api/movies', upstream: 'monolith', migrate: { flag: 'movies-shadowed', to: 'movies' } },
      { prefix: '/api', upstream: 'monolith' },
    ],
    flags: { 'movies-shadowed': {} },
  }),
);

const unusedPort = await freePort();
const proxyEnv = {
  MONOLITH_URL: upstream,
  MOVIES_SERVICE_URL: upstream,
  EVENTS_SERVICE_URL: upstream,
  PERCENT: String(PERCENT),
};
const gatewayEnv = { ...proxyEnv, REDIS_URL: `redis://127.0.0.1:${redisPort}`, NODE_ENV: 'production' };
/** Starts a Node contender, optionally pinned to a CPU list with taskset. */
const node = (script, env, pin) =>
  pin ? start('taskset', ['-c', pin, process.execPath, script], env) : start(process.execPath, [script], env);
const launchBare = (port, pin, env = {}) =>
  node(join(here, 'fastify-proxy.mjs'), { ...proxyEnv, ...env, PORT: String(port) }, pin);
const launchGateway = (port, pin, env = {}) =>
  node(gatewayServer, { ...gatewayEnv, ...env, PORT: String(port) }, pin);
const launchBaseline = (port, pin, env = {}) =>
  node(BASELINE_GATEWAY, { ...gatewayEnv, ...env, PORT: String(port) }, pin);
const launchShadowing = (port, pin, env = {}) =>
  launchGateway(port, pin, { ...env, GATEWAY_ROUTES_FILE: shadowRoutes });

const contenders = [
  { key: 'upstream', name: 'upstream directly', launch: () => null, url: () => upstream },
  {
    key: 'nginx',
    name: 'nginx split_clients (1 worker)',
    launch: (port) => {
      writeFileSync(join(work, 'nginx.conf'), nginxConfig(port, upstream));
      return start('nginx', ['-c', join(work, 'nginx.conf'), '-p', work]);
    },
  },
  {
    key: 'express',
    name: 'Express + http-proxy-middleware',
    launch: (port) => node(join(here, 'express-proxy.mjs'), { ...proxyEnv, PORT: String(port) }),
  },
  { key: 'bare', name: 'bare Fastify + http-proxy, hard-coded %', launch: (port) => launchBare(port) },
  {
    // The bare proxy with the gateway's response handling (fresh header object without hop-by-hop headers,
    // small bodies read whole): the gap between it and the gateway is the gateway's own work.
    key: 'bareLikeGateway',
    name: 'bare Fastify, gateway response handling',
    launch: (port) => launchBare(port, undefined, { LIKE_GATEWAY: '1' }),
  },
  { key: 'gateway', name: 'this gateway (Redis flag)', launch: (port) => launchGateway(port) },
  {
    // With the optional access log on, one pino line per request (to stdout, here /dev/null like every
    // contender's stdout); the bare proxy logs nothing. This row shows what that line costs.
    key: 'gatewayAccessLog',
    name: 'this gateway, ACCESS_LOG=true',
    launch: (port) => launchGateway(port, undefined, { ACCESS_LOG: 'true' }),
  },
  {
    // Same code path, but no Redis at all: the percent comes from the env seed. The difference to the
    // gateway row is what reading the flag from Redis costs.
    key: 'gatewayNoRedis',
    name: 'this gateway, no Redis (env seed)',
    launch: (port) =>
      launchGateway(port, undefined, {
        REDIS_URL: `redis://127.0.0.1:${unusedPort}`,
        MOVIES_MIGRATION_PERCENT: String(PERCENT),
      }),
  },
];

console.log(
  `bench/gateway: ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), node ${process.version}, ` +
    `wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s after ${WARMUP_S}s warm-up, best of ${ROUNDS} interleaved rounds, GET ${PATH}, ${PERCENT} % split\n`,
);
/** User + system CPU seconds of a process so far (Linux clock ticks are 1/100 s). */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

const results = new Map(
  contenders.map((c) => [c.key, { name: c.name, rps: 0, p50: 0, p99: 0, cpuUs: [], timeouts: 0, errors: 0 }]),
);
if (BASELINE_GATEWAY) console.log(`baseline gateway for head to head: ${BASELINE_GATEWAY}\n`);
for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 === 0 ? [...contenders].reverse() : contenders;
  for (const contender of order) {
    const result = results.get(contender.key);
    const port = await freePort();
    const child = contender.launch(port);
    const base = contender.url?.() ?? `http://127.0.0.1:${port}`;
    await waitForOk(`${base}${PATH}`);
    await wrk(`${base}${PATH}`, WARMUP_S);
    const measureCpu = child && contender.key !== 'nginx'; // nginx works in a child process
    const cpuBefore = measureCpu ? cpuSeconds(child.pid) : 0;
    const run = await wrk(`${base}${PATH}`, DURATION_S);
    if (measureCpu) result.cpuUs.push(((cpuSeconds(child.pid) - cpuBefore) * 1e6) / (run.rps * DURATION_S));
    console.log(`  round ${round}: ${contender.name}: ${Math.round(run.rps)} req/s${trouble(run)}`);
    result.timeouts += run.timeouts;
    result.errors += run.errors;
    if (run.rps > result.rps) Object.assign(result, { rps: run.rps, p50: run.p50, p99: run.p99 });
    if (child) await stop(child);
  }
}

const ours = results.get('gateway');
const cpu = (r) => (r.cpuUs.length ? Math.min(...r.cpuUs) : undefined);
const pad = (s, n) => String(s).padEnd(n);
const lines = [
  `| ${pad('contender', 40)} | ${pad('req/s', 7)} | ${pad('p50 ms', 6)} | ${pad('p99 ms', 6)} | ${pad('CPU µs/req', 10)} | ${pad('timeouts/errors', 15)} | gateway ÷ this |`,
  `|${'-'.repeat(42)}|${'-'.repeat(9)}|${'-'.repeat(8)}|${'-'.repeat(8)}|${'-'.repeat(12)}|${'-'.repeat(17)}|----------------|`,
  ...[...results.values()].map(
    (r) =>
      `| ${pad(r.name, 40)} | ${pad(Math.round(r.rps), 7)} | ${pad(r.p50.toFixed(2), 6)} | ${pad(r.p99.toFixed(2), 6)} | ${pad(cpu(r)?.toFixed(0) ?? '-', 10)} | ${pad(`${r.timeouts}/${r.errors}`, 15)} | ${pad(`${(ours.rps / r.rps).toFixed(2)} x`, 14)} |`,
  ),
];
if (ROUNDS > 0) console.log(`\n${lines.join('\n')}\n`);

// Head to head: the gateway and a bare proxy pinned to the same core and loaded at the same time by two
// wrk processes pinned to another core, with an upstream of their own there too. The kernel shares the
// core evenly, so the ratio of their throughputs is the inverse ratio of their CPU cost per request, and
// whatever else happens on the machine slows both alike. The sequential rounds above cannot promise that.
const HEAD_TO_HEAD_ROUNDS = Number(process.env.BENCH_HEAD_TO_HEAD_ROUNDS ?? 3);
/** CPUs this process may run on (a container may allow fewer than the host has), e.g. "0-3,6" → 0,1,2,3,6. */
const pinnable = (readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1] ?? '')
  .split(',')
  .filter(Boolean)
  .flatMap((range) => {
    const [from, to = from] = range.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
  });
const [loadCpu, proxyCpu] = pinnable;
// A routing policy that uses every rule of the decision: method scope, a force header, the lists (in Redis).
const routesFile = join(work, 'routes.yaml');
writeFileSync(
  routesFile,
  `upstreams: { monolith: ${upstream}, movies: ${upstream}, events: ${upstream} }
routes:
  - { prefix: /api/movies, upstream: monolith, migrate: { flag: movies, to: movies } }
  - { prefix: /api/events, upstream: events }
  - { prefix: /api, upstream: monolith }
flags:
  movies: { stickiness: x-user-id, methods: [GET, HEAD], force: x-migration-force }
internal: [/api/events/recent]
`,
);
// BENCH_POST=1 (with a baseline): a 1 KiB JSON POST, the body read whole by the gateway before it is sent on.
const postScript = join(work, 'post.lua');
writeFileSync(
  postScript,
  `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = '{"title":"${'x'.repeat(1010)}"}'\n`,
);
const post = ['-s', postScript];
const launchPolicyGateway = (port, pin, env = {}) =>
  launchGateway(port, pin, { ...env, GATEWAY_ROUTES_FILE: routesFile });
async function headToHead(launchOther, launchOurs = launchGateway, extra = []) {
  const ownUpstreamPort = await freePort();
  const ownUpstream = start('taskset', ['-c', loadCpu, process.execPath, join(here, 'upstream.mjs')], {
    PORT: String(ownUpstreamPort),
  });
  await waitForOk(`http://127.0.0.1:${ownUpstreamPort}${PATH}`);
  const env = {
    MONOLITH_URL: `http://127.0.0.1:${ownUpstreamPort}`,
    MOVIES_SERVICE_URL: `http://127.0.0.1:${ownUpstreamPort}`,
    EVENTS_SERVICE_URL: `http://127.0.0.1:${ownUpstreamPort}`,
  };
  const ratios = [];
  const troubles = [];
  const sides = [0, 1].map(() => ({ cpuUs: [], p50: [], p99: [] }));
  for (let round = 0; round < HEAD_TO_HEAD_ROUNDS; round++) {
    const [gatewayPort, otherPort] = [await freePort(), await freePort()];
    const pair = [launchOurs(gatewayPort, proxyCpu, env), launchOther(otherPort, proxyCpu, env)];
    const urls = [gatewayPort, otherPort].map((port) => `http://127.0.0.1:${port}${PATH}`);
    for (const url of urls) await waitForOk(url);
    await Promise.all(urls.map((url) => wrk(url, WARMUP_S, loadCpu, extra)));
    const before = pair.map((child) => cpuSeconds(child.pid));
    const [gateway, other] = await Promise.all(urls.map((url) => wrk(url, DURATION_S, loadCpu, extra)));
    [gateway, other].forEach((run, i) => {
      sides[i].cpuUs.push(((cpuSeconds(pair[i].pid) - before[i]) * 1e6) / (run.rps * DURATION_S));
      sides[i].p50.push(run.p50);
      sides[i].p99.push(run.p99);
    });
    ratios.push(gateway.rps / other.rps);
    if (trouble(gateway) || trouble(other))
      troubles.push(
        `round ${round + 1}: gateway${trouble(gateway) || ' clean'}, other${trouble(other) || ' clean'}`,
      );
    await Promise.all(pair.map(stop));
  }
  await stop(ownUpstream);
  // CPU of the pinned process, taskset's exec'd node; medians over the rounds.
  const [ours, other] = sides.map(
    (side) =>
      `${median(side.cpuUs).toFixed(0)} µs/req, p50 ${median(side.p50).toFixed(2)} ms, p99 ${median(side.p99).toFixed(2)} ms`,
  );
  return { median: median(ratios), ratios, troubles, ours, other };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rpsOf = (key) => results.get(key).rps;
if (ROUNDS > 0) {
  const ratio = (key) => ours.rps / rpsOf(key);
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  console.log(
    `target gateway >= 0.95 x bare Fastify: ${ratio('bare').toFixed(2)} (${verdict(ratio('bare') >= 0.95)})`,
  );
  console.log(
    `target gateway >= 4 x Express:         ${ratio('express').toFixed(2)} (${verdict(ratio('express') >= 4)})`,
  );
  console.log(
    `gateway with ACCESS_LOG=true:            ${(rpsOf('gatewayAccessLog') / rpsOf('bare')).toFixed(2)} x bare Fastify`,
  );
  console.log(`gateway vs nginx (reported, no target):  ${ratio('nginx').toFixed(2)}`);
  console.log(
    `CPU per request, gateway ÷ bare Fastify: ${(cpu(ours) / cpu(results.get('bare'))).toFixed(2)} (flag, forwarding headers, metrics, response handling)`,
  );
}
if (pinnable.length >= 2 && HEAD_TO_HEAD_ROUNDS > 0) {
  console.log(
    `\nhead to head on one shared core (${HEAD_TO_HEAD_ROUNDS} rounds, median; gateway req/s ÷ other req/s):`,
  );
  // With X-User-Id, every request of the policy gateway is looked up in both lists before the percent.
  const user = ['-H', 'X-User-Id: bench-user'];
  const pairs = [
    ['gateway', 'bare Fastify, hard-coded %', launchBare],
    [
      'gateway',
      'bare Fastify, gateway response handling',
      (port, pin, env) => launchBare(port, pin, { ...env, LIKE_GATEWAY: '1' }),
    ],
    [
      'gateway, routes file + 1000-id lists',
      'bare Fastify (X-User-Id)',
      launchBare,
      launchPolicyGateway,
      user,
    ],
  ];
  if (process.env.BENCH_HEAD_TO_HEAD_BARE === '0') pairs.length = 0;
  if (BASELINE_GATEWAY) {
    pairs.push(['gateway', 'the baseline gateway build', launchBaseline]);
    pairs.push([
      'gateway, routes file + 1000-id lists',
      'the baseline gateway build (X-User-Id)',
      launchBaseline,
      launchPolicyGateway,
      user,
    ]);
  }
  if (SHADOW)
    pairs.push(['gateway shadowing 100 %', 'this gateway, shadowing off', launchGateway, launchShadowing]);
  if (BASELINE_GATEWAY && process.env.BENCH_POST === '1')
    pairs.push([
      'gateway, 1 KiB JSON POST',
      'the baseline gateway build',
      launchBaseline,
      launchGateway,
      post,
    ]);
  for (const [ours, label, launchOther, launchOurs, extra] of pairs) {
    const result = await headToHead(launchOther, launchOurs, extra);
    console.log(
      `  ${ours} vs ${label}: ${result.median.toFixed(2)} x  (rounds: ${result.ratios.map((r) => r.toFixed(2)).join(', ')})`,
    );
    console.log(`      ${ours}: ${result.ours}; other: ${result.other}`);
    for (const line of result.troubles) console.log(`      ${line}`);
  }
} else {
  console.log('\nhead to head skipped: it needs two CPUs this process may run on');
}
process.exit(0);
