import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, type Recorded, startStandIn } from './helpers.js';

/*
 * A stand-in server checks what the CLI sends and how it shows answers that the tests against a real
 * gateway do not reach: a viewer's 403 (named operators are being built), a gateway without an
 * endpoint and a server that is not the gateway; export/import and allow/deny until the flags tests
 * against the gateway (gateway.test.ts) cover them. Shadow and rollout commands are tested against the
 * real gateway only (shadow-gateway.test.ts, rollout-gateway.test.ts).
 */

const TOKEN = 'stand-in-token-0123456789';

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
  return { status: 404, body: { error: `Route ${method} ${url} not found` } };
}

let server: Awaited<ReturnType<typeof startStandIn>>;
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
      'cinemaabyss: the gateway has no GET /admin/flags/unknown-endpoint/shadow (404): is its admin API on (ADMIN_TOKEN or ADMIN_TOKENS_FILE) and recent enough?\n',
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
});
