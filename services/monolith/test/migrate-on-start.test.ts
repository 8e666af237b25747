import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig, unique } from './helpers.js';

// Issue 25: `DB_MIGRATE_ON_START=true` (compose.yaml's setting) made the built monolith exit at every start.
// The real artifact, started as compose starts it, on a throw-away schema: empty first, then migrated.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { DATABASE_URL } = testConfig();
const schema = `on_start_${unique()}`;
const admin = new pg.Client({ connectionString: DATABASE_URL });
// Every migration the build ships, by version: the test follows the folder, not a count written here.
const versions = readdirSync(join(root, 'migrations'))
  .filter((name) => /^\d+\.do\./.test(name))
  .map((name) => Number.parseInt(name, 10))
  .sort((a, b) => a - b);

/** DATABASE_URL with its search_path on `name`: the service and its migrations see only that schema. */
function urlOn(name: string): string {
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${name}`);
  return url.href;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

async function start(databaseUrl: string): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'dist/server.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      DB_MIGRATE_ON_START: 'true',
      DB_CONNECT_ATTEMPTS: '3',
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, port, output: () => output, exited };
}

/** Polls /ready until it answers 200; fails at once with the output if the process exits first. */
async function ready({ port, output, exited }: Started): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => {
    gone = code;
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (gone !== undefined)
      throw new Error(`the monolith exited with ${gone} before it was ready:\n${output()}`);
    const status = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`the monolith was not ready within 20 s:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(started: Started): Promise<number | null> {
  started.child.kill('SIGTERM');
  return started.exited;
}

describe('the built monolith with DB_MIGRATE_ON_START=true', () => {
  beforeAll(async () => {
    execFileSync('pnpm', ['exec', 'tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
  }, 60_000);
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('applies every migration on an empty database, then serves', async () => {
    const monolith = await start(urlOn(schema));
    try {
      await ready(monolith);
      expect(monolith.output()).toContain(`applied ${versions.length} migration(s) on start`);
      const { rows } = await admin.query(
        `SELECT version::int AS version FROM ${schema}.schemaversion WHERE version > 0 ORDER BY version`,
      );
      expect(rows.map((row) => row.version)).toEqual(versions);
      const users = await fetch(`http://127.0.0.1:${monolith.port}/api/users`);
      expect(users.status).toBe(200);
      expect(((await users.json()) as unknown[]).length).toBe(5);
    } finally {
      expect(await stop(monolith)).toBe(0);
    }
  }, 30_000);

  it('starts on the migrated database with nothing to apply', async () => {
    const monolith = await start(urlOn(schema));
    try {
      await ready(monolith);
      expect(monolith.output()).toContain('database schema is up to date');
    } finally {
      expect(await stop(monolith)).toBe(0);
    }
  }, 30_000);

  it('exits 1 naming what failed and why when the migrations cannot run', async () => {
    const monolith = await start(urlOn(`missing_${unique()}`));
    expect(await monolith.exited).toBe(1);
    expect(monolith.output().trim().split('\n').at(-1)).toBe(
      'the search_path of DATABASE_URL names no existing schema to migrate',
    );
  }, 30_000);
});
