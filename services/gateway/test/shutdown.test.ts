import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusedUrl, startUpstream, type Upstream, waitFor } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('the built server', () => {
  let monolith: Upstream;
  let movies: Upstream;

  beforeAll(async () => {
    // The real artifact: the built server, started as operators start it.
    execFileSync('pnpm', ['exec', 'tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    [monolith, movies] = await Promise.all([startUpstream('monolith'), startUpstream('movies')]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([monolith.close(), movies.close()]);
  });

  it('drains in-flight requests, fails readiness first and exits 0 without failing a request', async () => {
    const port = Number(new URL(await refusedUrl()).port);
    const child = spawn(process.execPath, [join(root, 'dist/server.js')], {
      env: {
        ...process.env,
        PORT: String(port),
        MONOLITH_URL: monolith.url,
        MOVIES_SERVICE_URL: movies.url,
        EVENTS_SERVICE_URL: monolith.url,
        // No Redis at all: the gateway must start and route on the env seed (and the shared flag stays untouched).
        REDIS_URL: `redis://127.0.0.1:${Number(new URL(await refusedUrl()).port)}`,
        MOVIES_MIGRATION_PERCENT: '50',
        SHUTDOWN_DELAY_MS: '300',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    const client = new Agent({ connections: 32 });
    const get = async (path: string) => {
      const res = await request(`${base}${path}`, { dispatcher: client });
      await res.body.text();
      return res.statusCode;
    };
    await waitFor(
      async () => (await get('/ready').catch(() => 0)) === 200,
      10_000,
      'the gateway to be ready',
    );

    // Load as a load balancer would send it: until the readiness probe fails.
    let routable = true;
    const results: (number | string)[] = [];
    const worker = async () => {
      while (routable) results.push(await get('/api/movies/slow?ms=20').catch((e: Error) => e.message));
    };
    const workers = Array.from({ length: 16 }, worker);
    await waitFor(() => results.length >= 200, 10_000, 'traffic before SIGTERM');

    // Long requests in flight while the server closes must still complete.
    const slow = Array.from({ length: 8 }, () =>
      get('/api/users/slow?ms=800').catch((e: Error) => e.message),
    );
    child.kill('SIGTERM');
    await waitFor(async () => (await get('/ready').catch(() => 503)) === 503, 5_000, 'readiness to fail');
    routable = false;
    await Promise.all(workers);

    expect(await Promise.all(slow)).toEqual(Array(8).fill(200));
    expect(results.filter((r) => r !== 200)).toEqual([]);
    expect(results.length).toBeGreaterThan(200);
    expect(await exited).toBe(0);
    await client.close();
  }, 30_000);

  it('refuses to start on an invalid routes file, naming the entry and the problem', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gateway-routes-')), 'routes.yaml');
    writeFileSync(
      file,
      [
        'upstreams: { monolith: "http://127.0.0.1:1", movies: "http://127.0.0.1:2" }',
        'routes:',
        '  - { prefix: /api/movies, upstream: monolith, migrate: { flag: movies, to: movies } }',
        '  - { prefix: /api/events, upstream: monolith }',
        '  - { prefix: /api/users, upstream: monolith, migrate: { flag: movies, to: users } }',
        'flags: { movies: {} }',
      ].join('\n'),
    );
    const { code, stderr } = await startRefused({ GATEWAY_ROUTES_FILE: file });
    expect(code).toBe(1);
    expect(stderr).toContain(`Invalid routes file ${file}:`);
    expect(stderr).toContain('routes[2].migrate.to: unknown upstream "users"');
  }, 15_000);

  it('refuses to start on an invalid ADMIN_TOKENS_FILE, naming the entry and the problem', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gateway-operators-')), 'tokens.json');
    writeFileSync(
      file,
      JSON.stringify({ operators: [{ name: 'alice', role: 'operator', tokenSha256: 'x' }] }),
    );
    const { code, stderr } = await startRefused({ ADMIN_TOKENS_FILE: file });
    expect(code).toBe(1);
    expect(stderr).toBe(`ADMIN_TOKENS_FILE ${file}: operators[0].tokenSha256: must be 64 hex characters\n`);
  }, 15_000);
});

/** Starts the built server with `env`, which it should refuse; resolves with its exit code and stderr. */
async function startRefused(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(root, 'dist/server.js')], {
    env: { ...process.env, ...env, PORT: String(Number(new URL(await refusedUrl()).port)) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stderr };
}
