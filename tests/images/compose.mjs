#!/usr/bin/env node
// Starts compose.yaml's services with Podman as `docker compose up --wait` would: the project as compose-go
// loads it (`cinemaabyss-validate compose-json`, the loader behind `docker compose`: interpolation, merges,
// each service's environment), in the order of depends_on, each dependency's condition met before its
// dependents start (service_healthy: the service's own healthcheck passes), and done once every healthcheck
// passes. Each service runs with its own environment, command, entrypoint, healthcheck, read_only, tmpfs,
// security_opt, capabilities, restart policy, stop grace period and bind mounts; any other setting fails.
//
// Not podman-compose: without systemd Podman never runs a healthcheck on its own, so nothing would ever turn
// healthy and `depends_on: service_healthy` would wait forever; here the checks run with `podman healthcheck
// run`. Host networking and the native stack's stand-ins as in standins.mjs: a service built from a Dockerfile
// runs the image scripts/images built from that Dockerfile; a third-party image (no registry here) is replaced
// by the native stack's component its dependents reach (its `host:port`), or skipped when nothing reaches it.
//
//   node tests/images/compose.mjs --project project.json --files DIR --name PREFIX --image NAME=IMAGE...
//     [--port-offset N] [--schema NAME] [--redis-db N] [--override KEY=VALUE]... [--after SERVICE=COMMAND]...
//     -- <podman command and flags>
// --image names the image built from services/NAME/Dockerfile (every service built from it runs it: movies and
// movies-sync); --after runs a shell command once SERVICE is healthy, before anything that starts after it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyOverrides, envArgs, fail, rewriter } from './standins.mjs';

const { values: options, positionals: podman } = parseArgs({
  allowPositionals: true,
  options: {
    project: { type: 'string' },
    files: { type: 'string' },
    name: { type: 'string' },
    image: { type: 'string', multiple: true },
    'port-offset': { type: 'string', default: '0' },
    schema: { type: 'string' },
    'redis-db': { type: 'string' },
    override: { type: 'string', multiple: true },
    after: { type: 'string', multiple: true },
  },
});
if (!options.project || !options.files || !options.name || podman.length === 0) {
  fail('usage: compose.mjs --project FILE --files DIR --name PREFIX --image S=IMAGE... -- podman [flags]');
}
const project = JSON.parse(readFileSync(options.project, 'utf8'));
const images = new Map((options.image ?? []).map((pair) => pair.split('=')));
const after = new Map(
  (options.after ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
const portOffset = Number(options['port-offset']);
const say = (message) => console.log(`\x1b[1m[images]\x1b[0m compose: ${message}`);

const services = Object.entries(project.services);
const built = new Map(services.filter(([, s]) => s.build));
const thirdParty = new Map(services.filter(([, s]) => !s.build));

// Each built service listens on its PORT; that port moves by the offset wherever it is reached.
const shifted = new Map();
for (const [name, service] of built) {
  const port = service.environment?.PORT;
  if (!port) fail(`${name} sets no PORT: cannot tell which port it listens on`);
  shifted.set(port, String(Number(port) + portOffset));
}
const rewrite = rewriter({
  hosts: new Map(services.map(([name]) => [name, 0])),
  shifted,
  schema: options.schema,
  redisDb: options['redis-db'],
});

// A third-party service stands in by the native stack's component on each `name:port` its dependents use.
const standIns = new Map();
for (const [name, service] of thirdParty) {
  const reached = new Set();
  for (const [, other] of services) {
    const settings = [...Object.values(other.environment ?? {}), ...(other.command ?? [])];
    for (const value of settings) {
      for (const match of String(value).matchAll(new RegExp(`(?<![\\w.-])${name}:(\\d+)\\b`, 'g'))) {
        reached.add(Number(match[1]));
      }
    }
  }
  const dependents = [...built].filter(([, s]) => s.depends_on?.[name]).map(([n]) => n);
  if (reached.size === 0 && dependents.length > 0) {
    fail(
      `${name} (${service.image}) cannot run here and ${dependents.join(', ')} depend on it without a host:port to stand in for`,
    );
  }
  if (reached.size === 0) {
    say(
      `${name}: ${service.image} cannot be pulled here (no registry) and no service reaches it: not started`,
    );
    continue;
  }
  const ports = [...reached];
  standIns.set(name, ports);
  say(
    `${name}: ${service.image} cannot be pulled here (no registry); the native stack's ` +
      `${ports.map((port) => `127.0.0.1:${port}`).join(', ')} stands in`,
  );
}

function pm(...args) {
  return spawnSync(podman[0], [...podman.slice(1), ...args], { encoding: 'utf8' });
}

const seconds = (duration, fallback) => {
  if (!duration) return fallback;
  let total = 0;
  for (const [, value, unit] of String(duration).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(value) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit];
  }
  return total;
};

const SUPPORTED = new Set([
  'build',
  'image',
  'environment',
  'healthcheck',
  'depends_on',
  'read_only',
  'tmpfs',
  'security_opt',
  'cap_drop',
  'cap_add',
  'stop_grace_period',
  'restart',
  'volumes',
  'ports',
  'networks',
  'command',
  'entrypoint',
]);

function runArgs(name, service) {
  for (const key of Object.keys(service)) {
    if (!SUPPORTED.has(key)) fail(`${name}: "${key}" is not reproduced here`);
  }
  const from = /(?:^|\/)services\/([\w-]+)\/Dockerfile$/.exec(service.build.dockerfile ?? '')?.[1];
  if (!from || !images.has(from)) {
    fail(
      `${name} builds ${service.build.dockerfile}: no image built from it was given (--image <service>=...)`,
    );
  }
  const args = ['--detach', `--name=${options.name}-${name}`, '--network=host', '--pull=never'];
  if (service.read_only) args.push('--read-only', '--read-only-tmpfs=false');
  for (const path of service.tmpfs ?? []) args.push(`--tmpfs=${path}`);
  for (const option of service.security_opt ?? [])
    args.push(`--security-opt=${option.replace(/:true$/, '')}`);
  for (const cap of service.cap_drop ?? []) args.push(`--cap-drop=${cap}`);
  for (const cap of service.cap_add ?? []) args.push(`--cap-add=${cap}`);
  if (service.restart) args.push(`--restart=${service.restart}`);
  // Compose's default grace period is 10 s.
  args.push(`--stop-timeout=${Math.ceil(seconds(service.stop_grace_period, 10))}`);
  for (const volume of service.volumes ?? []) {
    if (volume.type !== 'bind' || !statSync(volume.source).isFile()) {
      fail(`${name}: only bind mounts of files are reproduced, not ${volume.type} ${volume.source}`);
    }
    // A copy with the path's host names rewritten, like every other setting.
    const dir = join(options.files, name);
    mkdirSync(dir, { recursive: true });
    const copy = join(dir, basename(volume.source));
    writeFileSync(copy, rewrite(readFileSync(volume.source, 'utf8')));
    args.push(`--volume=${copy}:${volume.target}${volume.read_only ? ':ro' : ''}`);
  }
  const env = new Map(
    Object.entries(service.environment ?? {})
      .filter(([, value]) => value !== null)
      .map(([key, value]) => [key, rewrite(String(value))]),
  );
  env.set('PORT', shifted.get(env.get('PORT')));
  applyOverrides(env, options.override);
  args.push(...envArgs(env));
  const check = service.healthcheck;
  if (check && !check.disable) {
    const [kind, ...command] = check.test;
    // Podman keeps a JSON array's arguments as they are only without the CMD keyword (with it, it re-splits
    // them on spaces, which breaks `node -e <script>`); CMD-SHELL stays as compose writes it.
    if (kind === 'CMD') args.push(`--health-cmd=${JSON.stringify(command.map(rewrite))}`);
    else if (kind === 'CMD-SHELL')
      args.push(`--health-cmd=${JSON.stringify([kind, rewrite(command.join(' '))])}`);
    else fail(`${name}: healthcheck test ${kind} is not reproduced`);
    if (check.interval) args.push(`--health-interval=${check.interval}`);
    if (check.timeout) args.push(`--health-timeout=${check.timeout}`);
    if (check.retries !== undefined) args.push(`--health-retries=${check.retries}`);
    if (check.start_period) args.push(`--health-start-period=${check.start_period}`);
  }
  if (service.entrypoint) args.push(`--entrypoint=${JSON.stringify(service.entrypoint)}`);
  args.push(images.get(from), ...(service.command ?? []));
  return args;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const reachable = (port) =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

/** Compose's wait: healthy within start_period + retries x (interval + timeout), or the run fails. */
async function healthy(name) {
  if (standIns.has(name)) {
    for (const port of standIns.get(name)) {
      if (!(await reachable(port))) fail(`${name}: the native stack's 127.0.0.1:${port} does not answer`);
    }
    return;
  }
  const check = built.get(name).healthcheck;
  if (!check || check.disable) fail(`${name} has no healthcheck, yet a service waits for it to be healthy`);
  const budget =
    seconds(check.start_period, 0) +
    (check.retries ?? 3) * (seconds(check.interval, 30) + seconds(check.timeout, 30));
  const deadline = Date.now() + budget * 1000;
  const container = `${options.name}-${name}`;
  for (;;) {
    if (pm('healthcheck', 'run', container).status === 0) return;
    const running = pm('inspect', '--format', '{{.State.Running}}', container).stdout.trim();
    if (running !== 'true' || Date.now() > deadline) {
      const logs = pm('logs', '--tail', '30', container);
      process.stderr.write(logs.stdout + logs.stderr);
      fail(`${name} did not become healthy within its healthcheck's ${budget} s (running: ${running})`);
    }
    await sleep(1000);
  }
}

// depends_on order: a service starts once every dependency meets its condition.
const started = new Set();
const order = [];
const visit = (name, path = []) => {
  if (path.includes(name)) fail(`depends_on cycle: ${[...path, name].join(' -> ')}`);
  if (order.includes(name)) return;
  for (const dependency of Object.keys(built.get(name)?.depends_on ?? {})) visit(dependency, [...path, name]);
  order.push(name);
};
for (const name of built.keys()) visit(name);

for (const name of order) {
  if (!built.has(name)) continue;
  for (const [dependency, { condition }] of Object.entries(built.get(name).depends_on ?? {})) {
    if (condition === 'service_healthy') await healthy(dependency);
    else if (condition !== 'service_started')
      fail(`${name}: depends_on condition ${condition} is not reproduced`);
    else if (!standIns.has(dependency) && !started.has(dependency)) fail(`${dependency} was not started`);
  }
  const run = pm('run', ...runArgs(name, built.get(name)));
  // Podman complains that it cannot hand the health checks to systemd; a container that runs is what counts.
  if (run.status !== 0) fail(`podman run ${name} failed: ${run.stderr.trim()}`);
  started.add(name);
  const waitsOn = Object.entries(built.get(name).depends_on ?? {}).map(
    ([d, { condition }]) => `${d} ${condition}`,
  );
  say(`${name}: started${waitsOn.length ? ` after ${waitsOn.join(', ')}` : ''}`);
  if (after.has(name)) {
    await healthy(name);
    const hook = spawnSync('bash', ['-c', after.get(name)], { stdio: 'inherit' });
    if (hook.status !== 0) fail(`the step after ${name} failed: ${after.get(name)}`);
  }
}
// `docker compose up --wait`: done when every service with a healthcheck is healthy.
for (const name of started) {
  await healthy(name);
  say(`${name}: healthy (its compose healthcheck)`);
}
