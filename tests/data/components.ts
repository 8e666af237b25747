import { execFile, spawn } from 'node:child_process';
import { openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { endpoints, repoRoot } from '../deploy/tools.js';

const run = promisify(execFile);

/**
 * The parts of the capture path the fault suite stops and starts, found as scripts/stack left them: the
 * Connect worker by tools/connect/connect.sh's pid file, movies-sync by the stack's pid file, PostgreSQL as the
 * local cluster serving DATABASE_URL's port. Each is started again exactly as it ran (its own command line,
 * directory and environment), so the suite works on the stack it is given: CI's, or one of bench/data/own-stack.sh.
 */
const stackDir = process.env.STACK_DIR ?? join(repoRoot, '.stack');
const worker = JSON.parse(
  readFileSync(process.env.CONNECT_WORKER_JSON ?? join(repoRoot, 'deploy/connect/worker.json'), 'utf8'),
) as { port: number };
const connectorFile = join(repoRoot, 'deploy/connect/cinemaabyss-movies.json');

export const settings = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://cinemaabyss:cinemaabyss@127.0.0.1:5432/cinemaabyss',
  moviesDatabaseUrl: process.env.MOVIES_DATABASE_URL ?? 'postgres://movies:movies@127.0.0.1:5432/movies',
  monolithUrl: process.env.MONOLITH_URL ?? `http://127.0.0.1:${endpoints.monolith.port}`,
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  connectUrl: process.env.CONNECT_URL ?? `http://127.0.0.1:${worker.port}`,
  connectStateDir: process.env.CONNECT_STATE_DIR ?? join(stackDir, 'connect'),
  syncPidFile: process.env.MOVIES_SYNC_PIDFILE ?? join(stackDir, 'pids/movies-sync.pid'),
  connectorName: basename(connectorFile, '.json'),
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something other than undefined; fails naming `what` at the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${what}: not within ${timeoutMs} ms${reason}`);
    }
    await pause(everyMs);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A running process as /proc shows it, enough to start it again the same way. */
interface ProcessImage {
  pid: number;
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where its stdout went (its log file), when that is a file. */
  output: string | undefined;
}

function imageOf(pid: number): ProcessImage {
  const split = (path: string) =>
    readFileSync(path, 'utf8')
      .split('\0')
      .filter((part) => part.length > 0);
  const env = Object.fromEntries(
    split(`/proc/${pid}/environ`).map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    }),
  );
  let output: string | undefined;
  try {
    const target = readlinkSync(`/proc/${pid}/fd/1`);
    if (target.startsWith('/')) output = target;
  } catch {
    output = undefined;
  }
  return { pid, argv: split(`/proc/${pid}/cmdline`), cwd: readlinkSync(`/proc/${pid}/cwd`), env, output };
}

function pidFrom(file: string, mustRun: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || !alive(pid)) return undefined;
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(mustRun) ? pid : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Kafka Connect and the connector

export interface ConnectorStatus {
  connector: { state: string };
  tasks: Array<{ state: string }>;
}

export async function connectorStatus(): Promise<ConnectorStatus | undefined> {
  const response = await fetch(`${settings.connectUrl}/connectors/${settings.connectorName}/status`, {
    signal: AbortSignal.timeout(2_000),
  });
  return response.ok ? ((await response.json()) as ConnectorStatus) : undefined;
}

/** The connector and its one task RUNNING, as Connect reports them. */
export function connectorRunning(status: ConnectorStatus | undefined): boolean {
  return status?.connector.state === 'RUNNING' && status.tasks.length > 0
    ? status.tasks.every((task) => task.state === 'RUNNING')
    : false;
}

/** PUT /connectors/<name>/pause or /resume: Connect answers 202 and changes the state shortly after. */
export async function setConnector(action: 'pause' | 'resume'): Promise<void> {
  const response = await fetch(`${settings.connectUrl}/connectors/${settings.connectorName}/${action}`, {
    method: 'PUT',
    signal: AbortSignal.timeout(5_000),
  });
  if (response.status !== 202) throw new Error(`${action}: Connect answered ${response.status}`);
}

const workerPidFile = () => join(settings.connectStateDir, 'connect.pid');

/** The worker tools/connect/connect.sh started with this state directory, if it runs. */
export function connectWorker(): ProcessImage | undefined {
  const pid = pidFrom(workerPidFile(), 'ConnectDistributed');
  return pid === undefined ? undefined : imageOf(pid);
}

/** kill -9: no shutdown, no offset flush, the group learns of it only by its session timing out. */
export async function killConnectWorker(): Promise<ProcessImage> {
  const image = connectWorker();
  if (!image) throw new Error(`no Connect worker runs from ${workerPidFile()}`);
  process.kill(image.pid, 'SIGKILL');
  await waitFor('the killed worker to be gone', () => (alive(image.pid) ? undefined : true), 10_000);
  return image;
}

/** tools/connect/connect.sh start, in the environment the worker had (its capture database, its state dir). */
export async function startConnectWorker(as: ProcessImage | undefined): Promise<void> {
  const env = {
    ...(as?.env ?? process.env),
    PATH: process.env.PATH,
    CONNECT_STATE_DIR: settings.connectStateDir,
    ...(process.env.CONNECT_WORKER_JSON && { CONNECT_WORKER_JSON: process.env.CONNECT_WORKER_JSON }),
  };
  await run(join(repoRoot, 'tools/connect/connect.sh'), ['start'], { env, timeout: 150_000 });
}

// ---------------------------------------------------------------------------------------------------------
// movies-sync

export function moviesSync(): ProcessImage | undefined {
  const pid = pidFrom(settings.syncPidFile, 'sync/server.js');
  return pid === undefined ? undefined : imageOf(pid);
}

/** SIGTERM, as a deployment stops it: it drains, commits what it applied and leaves its group. */
export async function stopMoviesSync(): Promise<ProcessImage> {
  const image = moviesSync();
  if (!image) throw new Error(`no movies-sync runs from ${settings.syncPidFile}`);
  process.kill(image.pid, 'SIGTERM');
  await waitFor('movies-sync to stop', () => (alive(image.pid) ? undefined : true), 30_000);
  return image;
}

/** Starts it again as it ran: same command, directory, environment and log; records the new pid. */
export async function startMoviesSync(as: ProcessImage): Promise<void> {
  const [command, ...args] = as.argv;
  if (!command) throw new Error('movies-sync had no command line');
  const output = as.output ? openSync(as.output, 'a') : 'ignore';
  const child = spawn(command, args, {
    cwd: as.cwd,
    env: as.env,
    detached: true,
    stdio: ['ignore', output, output],
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${as.argv.join(' ')}`);
  writeFileSync(settings.syncPidFile, `${child.pid}\n`);
  const port = as.env.PORT ?? '8084';
  await waitFor(
    'movies-sync to be ready',
    async () => ((await fetch(`http://127.0.0.1:${port}/ready`)).ok ? true : undefined),
    60_000,
  );
}

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL

/** The local cluster (pg_lsclusters) that serves DATABASE_URL's port, as `version name`. */
export async function postgresCluster(): Promise<[string, string]> {
  const port = new URL(settings.databaseUrl).port || '5432';
  const { stdout } = await run('pg_lsclusters', ['-h']);
  for (const line of stdout.split('\n')) {
    const [version, name, clusterPort] = line.trim().split(/\s+/);
    if (version && name && clusterPort === port) return [version, name];
  }
  throw new Error(`no local PostgreSQL cluster serves port ${port} (pg_lsclusters)`);
}

/** pg_ctlcluster restart: a fast shutdown (every connection and the replication slot's sender cut), then start. */
export async function restartPostgres(): Promise<void> {
  const [version, name] = await postgresCluster();
  await run('pg_ctlcluster', [version, name, 'restart'], { timeout: 60_000 });
}

/** Starts the cluster if it is down (a restart that failed half-way); no-op when it runs. */
export async function ensurePostgres(): Promise<void> {
  const [version, name] = await postgresCluster();
  const { stdout } = await run('pg_lsclusters', ['-h']);
  const line = stdout
    .split('\n')
    .find((l) => l.trim().split(/\s+/).slice(0, 2).join(' ') === `${version} ${name}`);
  if (line && !/\bonline\b/.test(line))
    await run('pg_ctlcluster', [version, name, 'start'], { timeout: 60_000 });
}
