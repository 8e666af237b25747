import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, MAIN, type Recorded, startStandIn } from './helpers.js';

/*
 * The admin endpoints for viewer tokens, export/import, shadow and rollouts are being built in the
 * gateway now. Until they land, a stand-in server shaped after their issues checks what the CLI sends
 * and how it shows the answers; the end-to-end tests against the gateway follow the endpoints.
 */

const TOKEN = 'stand-in-token-0123456789';

const rolloutAt = (state: string, step: number, percent: number, decisions: unknown[] = []) => ({
  state,
  step,
  percent,
  plan: { steps: [10, 50, 100], intervalMs: 100 },
  startedAt: new Date().toISOString(),
  decisions,
});
const decision = (step: number, outcome: string, reason: string) => ({
  at: new Date().toISOString(),
  step,
  outcome,
  reason,
  numbers: { new: { n: 1204 }, old: { n: 3611 } },
});

/** Rollout statuses served in order to successive polls, per flag; the last one repeats. */
const scripts: Record<string, unknown[]> = {
  healthy: [
    rolloutAt('running', 0, 10),
    rolloutAt('running', 0, 10),
    rolloutAt('running', 1, 50, [decision(0, 'advance', 'new 5xx 0 % vs old 0 %')]),
    rolloutAt('succeeded', 2, 100, [decision(1, 'advance', 'new 5xx 0 % vs old 0 %')]),
  ],
  failing: [
    rolloutAt('running', 0, 10),
    rolloutAt('rolled-back', 0, 0, [
      decision(0, 'rollback', 'new 5xx 20 % (n=1 204) vs old 0.1 % (n=3 611)'),
    ]),
  ],
  stopped: [rolloutAt('running', 0, 10), rolloutAt('aborted', 0, 0)],
};

function answer(request: Recorded): { status: number; body?: unknown; html?: string } {
  if (request.url === '/not-a-gateway/admin/flags') return { status: 200, html: '<html>welcome</html>' };
  if (request.authorization !== `Bearer ${TOKEN}`)
    return { status: 401, body: { error: 'missing or invalid bearer token' } };
  const { method, url } = request;
  if (url === '/admin/flags/viewer-only' && method === 'PUT')
    return { status: 403, body: { error: 'token of viewer "dashboards" may only read' } };
  if (url === '/admin/flags/export')
    return { status: 200, body: { flags: { movies: { enabled: true, percent: 5 } } } };
  if (url === '/admin/flags/import' && method === 'PUT')
    return { status: 200, body: { changed: ['movies'] } };
  const rollout = /^\/admin\/flags\/([^/]+)\/rollout$/.exec(url);
  if (rollout && method === 'GET') {
    const script = scripts[rollout[1]!] ?? [];
    const polls = recorded().filter((r) => r.url === url).length;
    return { status: 200, body: script[Math.min(polls - 1, script.length - 1)] };
  }
  if (rollout && method === 'POST') return { status: 201, body: rolloutAt('running', 0, 5) };
  if (url.endsWith('/rollout/pause')) return { status: 200, body: rolloutAt('paused', 0, 5) };
  if (/\/rollout\/(resume|promote|abort)$/.test(url))
    return { status: 200, body: rolloutAt('running', 1, 25) };
  return { status: 404, body: { error: `Route ${method} ${url} not found` } };
}

let server: Awaited<ReturnType<typeof startStandIn>>;
const recorded = () => server.requests;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startStandIn(answer);
  env = { CINEMAABYSS_GATEWAY: server.url, CINEMAABYSS_TOKEN: TOKEN };
});
afterAll(() => server.close());

/** What the CLI sent for one command line. */
async function sent(args: string[]) {
  const before = server.requests.length;
  const run = await cli(args, env);
  return { run, requests: server.requests.slice(before) };
}

describe('errors the gateway will give', () => {
  it("shows a viewer's 403 as one line with the gateway's message", async () => {
    const { run } = await sent(['flags', 'set', 'viewer-only', '--percent', '5']);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe(
      'cinemaabyss: this token may not do that (403: token of viewer "dashboards" may only read)\n',
    );
  });

  it('says which endpoint a gateway lacks', async () => {
    const run = await cli(['shadow', 'report', 'unknown-endpoint'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'cinemaabyss: the gateway has no GET /admin/flags/unknown-endpoint/shadow (404): is its admin API on (ADMIN_TOKEN) and recent enough?\n',
    );
  });
});

describe('a server that is not the gateway', () => {
  it('is named, not parsed', async () => {
    const run = await cli(['flags', 'list', '--gateway', `${server.url}/not-a-gateway`], env);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe(
      `cinemaabyss: ${server.url}/not-a-gateway answered GET /admin/flags with something other than JSON; is it the gateway?\n`,
    );
  });
});

describe('what each command sends, and how it shows the answer', () => {
  it('flags export writes the document to a file or stdout, import sends it back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cinemaabyss-cli-'));
    const file = join(dir, 'flags.json');
    const exported = await sent(['flags', 'export', file]);
    expect(exported.run).toMatchObject({ code: 0, stdout: '', stderr: `wrote ${file}\n` });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      flags: { movies: { enabled: true, percent: 5 } },
    });
    expect(JSON.parse((await cli(['flags', 'export'], env)).stdout)).toEqual({
      flags: { movies: { enabled: true, percent: 5 } },
    });

    const imported = await sent(['flags', 'import', file]);
    expect(imported.run).toMatchObject({ code: 0, stdout: `imported ${file}\n` });
    expect(imported.requests).toEqual([
      {
        method: 'PUT',
        url: '/admin/flags/import',
        authorization: `Bearer ${TOKEN}`,
        body: { flags: { movies: { enabled: true, percent: 5 } } },
      },
    ]);
  });

  it('flags import refuses a file that is not JSON, before sending anything', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'cinemaabyss-cli-')), 'broken.json');
    await writeFile(file, '{"flags": ');
    const { run, requests } = await sent(['flags', 'import', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^cinemaabyss: ${file} is not JSON: .+\\n$`));
    expect(requests).toEqual([]);
  });

  it('flags set sends allow and deny lists', async () => {
    const { requests } = await sent(['flags', 'set', 'viewer-only', '--allow', 'alice,bob', '--deny', '']);
    expect(requests.map((r) => r.body)).toEqual([{ allow: ['alice', 'bob'], deny: [] }]);
  });

  it('rollout start sends the plan in API units and shows the rollout', async () => {
    const { run, requests } = await sent([
      'rollout',
      'start',
      'movies',
      '--steps',
      '5,25,50,100',
      '--interval',
      '90s',
      '--min-requests',
      '200',
      '--max-error-increase',
      '1%',
      '--max-latency-ratio',
      '1.5',
      '--max-mismatch',
      '0.5%',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('movies: running, step 1/3 at 5%');
    expect(requests.map(({ method, url, body }) => ({ method, url, body }))).toEqual([
      {
        method: 'POST',
        url: '/admin/flags/movies/rollout',
        body: {
          steps: [5, 25, 50, 100],
          intervalMs: 90_000,
          minRequests: 200,
          maxErrorRateIncrease: 0.01,
          maxLatencyRatio: 1.5,
          maxMismatchRate: 0.005,
        },
      },
    ]);
  });

  it('rollout pause, resume, promote and abort post to their endpoints', async () => {
    for (const verb of ['pause', 'resume', 'promote', 'abort']) {
      const { run, requests } = await sent(['rollout', verb, 'movies', '--json']);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).state).toBe(verb === 'pause' ? 'paused' : 'running');
      expect(requests.map(({ method, url }) => `${method} ${url}`)).toEqual([
        `POST /admin/flags/movies/rollout/${verb}`,
      ]);
    }
  });
});

describe('rollout status --watch', () => {
  it('prints one line per change and exits 0 when the rollout succeeds', async () => {
    const run = await cli(['rollout', 'status', 'healthy', '--watch'], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.map((line) => line.replace(/^\S+ /, ''))).toEqual([
      'healthy running step 1/3 10%',
      'healthy running step 2/3 50% | advance: new 5xx 0 % vs old 0 %',
      'healthy succeeded step 3/3 100% | advance: new 5xx 0 % vs old 0 %',
    ]);
  });

  it('exits 1 when the rollout is rolled back or aborted', async () => {
    const failing = await cli(['rollout', 'status', 'failing', '--watch'], env);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain(
      'failing rolled-back step 1/3 0% | rollback: new 5xx 20 % (n=1 204) vs old 0.1 % (n=3 611)',
    );
    const stopped = await cli(['rollout', 'status', 'stopped', '--watch'], env);
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toContain('stopped aborted step 1/3 0%');
  });

  it('redraws in place when stdout is a terminal', async () => {
    // script(1) runs the CLI on a pseudo-terminal and passes its exit code on (-e).
    const command = [process.execPath, MAIN, 'rollout', 'status', 'healthy2', '--watch'].join(' ');
    scripts.healthy2 = scripts.healthy!;
    const run = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', ...env, TERM: 'xterm' },
    });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matches the ANSI escapes the redraw writes
    expect(run.stdout).toMatch(/\x1b\[\d+F\x1b\[J/);
    expect(run.stdout).toContain('healthy2: succeeded, step 3/3 at 100%');
    expect(run.stdout).toContain('[####################] 10% → 50% → [100%]');
    expect(run.stdout).not.toContain('healthy2 running step');
    scripts.failing2 = scripts.failing!;
    const failing = await promisify(execFile)(
      'script',
      ['-qec', command.replace('healthy2', 'failing2'), '/dev/null'],
      { env: { PATH: process.env.PATH ?? '', ...env } },
    ).catch((error: { code: number; stdout: string }) => error);
    expect((failing as { code: number }).code).toBe(1);
    expect(failing.stdout).toContain('failing2: rolled-back');
  });
});
