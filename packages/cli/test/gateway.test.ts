import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  cli,
  type Gateway,
  refusedUrl,
  startGateway,
  startStandIn,
  uniqueFlag,
  waitFor,
} from './helpers.js';

/** One readable line on stderr, no stack trace. */
function expectOneLineError(stderr: string) {
  expect(stderr.endsWith('\n')).toBe(true);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^cinemaabyss: /);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('cinemaabyss flags, run as a process against a real gateway and Redis', () => {
  const flag = uniqueFlag();
  let gateway: Gateway;
  let env: Record<string, string>;
  const stored = async () =>
    (
      await gateway.app.inject({
        url: `/admin/flags/${flag}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json();

  beforeAll(async () => {
    gateway = await startGateway(flag);
    env = { CINEMAABYSS_GATEWAY: gateway.url, CINEMAABYSS_TOKEN: ADMIN_TOKEN };
  });
  afterAll(() => gateway.close());

  it('lists the flags as a table and as JSON', async () => {
    const table = await cli(['flags', 'list'], env);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual([
      'NAME',
      'ENABLED',
      'PERCENT',
      'EFFECTIVE',
      'ALLOW',
      'DENY',
      'SOURCE',
    ]);
    expect(rows.map((row) => row.split(/\s+/))).toEqual([[flag, 'true', '0%', '0%', '0', '0', 'redis']]);

    const json = await cli(['flags', 'list', '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      redis: 'connected',
      flags: [
        {
          name: flag,
          enabled: true,
          percent: 0,
          allow: [],
          deny: [],
          effectivePercent: 0,
          source: 'redis',
          routes: ['/api/movies'],
          data: null,
        },
      ],
    });
  });

  it('gets one flag', async () => {
    const human = await cli(['flags', 'get', flag], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^name\\s+${flag}$`, 'm'));
    expect(human.stdout).toMatch(/^percent\s+\d+%$/m);
    const json = await cli(['flags', 'get', flag, '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual(await stored());
  });

  it('sets a flag, records it in the history, and shows both', async () => {
    const set = await cli(['flags', 'set', flag, '--percent', '25'], env);
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toBe(`${flag}: percent 0 → 25\n`);
    expect(await stored()).toMatchObject({ percent: 25, enabled: true });

    const json = await cli(['flags', 'set', flag, '--percent', '40%', '--enabled', 'false', '--json'], env);
    expect(json.code).toBe(0);
    const answer = JSON.parse(json.stdout);
    expect(answer).toMatchObject({ name: flag, enabled: false, percent: 40, effectivePercent: 100 });
    expect(answer.change).toMatchObject({
      old: { enabled: true, percent: 25 },
      new: { enabled: false, percent: 40 },
    });
    expect(await stored()).toMatchObject({ percent: 40, enabled: false, effectivePercent: 100 });

    const history = await cli(['flags', 'history', flag, '--json'], env);
    expect(history.code).toBe(0);
    const entries = JSON.parse(history.stdout).history as Array<{ new: unknown; by: string; at: string }>;
    expect(entries.slice(0, 2).map((entry) => entry.new)).toEqual([
      { enabled: false, percent: 40, allow: [], deny: [] },
      { enabled: true, percent: 25, allow: [], deny: [] },
    ]);

    const table = await cli(['flags', 'history', flag], env);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]!.split(/\s+/)).toEqual(['AT', 'BY', 'CHANGE']);
    expect(lines[1]).toContain(entries[0]!.at);
    expect(lines[1]).toMatch(/enabled true → false, percent 25 → 40$/);
    expect(lines[2]).toMatch(/percent 0 → 25$/);
  });

  it('reads the token from --token-file and the gateway from --gateway', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cinemaabyss-cli-'));
    await writeFile(join(dir, 'token'), `${ADMIN_TOKEN}\n`);
    const run = await cli([
      'flags',
      'get',
      flag,
      '--json',
      '--gateway',
      gateway.url,
      '--token-file',
      join(dir, 'token'),
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).name).toBe(flag);
  });

  it('refuses a token given as a flag value, before sending anything', async () => {
    const run = await cli(['flags', 'list', '--token', ADMIN_TOKEN], env);
    expect(run.code).toBe(2);
    expectOneLineError(run.stderr);
    expect(run.stderr).toContain('--token is not accepted');
    expect(run.stderr).not.toContain(ADMIN_TOKEN);
  });

  it('says so when the token is missing', async () => {
    const run = await cli(['flags', 'list'], { CINEMAABYSS_GATEWAY: gateway.url });
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expectOneLineError(run.stderr);
    expect(run.stderr).toContain('no admin token: set CINEMAABYSS_TOKEN or pass --token-file FILE');
  });

  it('shows a wrong token as a 401', async () => {
    const run = await cli(['flags', 'list'], { ...env, CINEMAABYSS_TOKEN: 'not-the-token-at-all' });
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expectOneLineError(run.stderr);
    expect(run.stderr).toContain('the gateway refused the token (401: missing or invalid bearer token)');
  });

  it('names an unknown flag (404)', async () => {
    const run = await cli(['flags', 'get', 'no-such-flag'], env);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expectOneLineError(run.stderr);
    expect(run.stderr).toContain(`unknown flag "no-such-flag"; known flags: ${flag} (404)`);
  });

  it("shows the gateway's message for bad input, and nothing is written", async () => {
    const before = await stored();
    const run = await cli(['flags', 'set', flag, '--percent', '101'], env);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expectOneLineError(run.stderr);
    expect(run.stderr).toBe('cinemaabyss: body.percent: must be an integer from 0 to 100 (400)\n');
    expect(await stored()).toEqual(before);
  });

  it('refuses a malformed value itself, before asking the gateway', async () => {
    const run = await cli(['flags', 'set', flag, '--enabled', 'yes'], env);
    expect(run.code).toBe(2);
    expectOneLineError(run.stderr);
    expect(run.stderr).toContain('--enabled: "yes" must be true or false');
  });

  it('says when the gateway is unreachable', async () => {
    const url = await refusedUrl();
    const run = await cli(['flags', 'list'], { ...env, CINEMAABYSS_GATEWAY: url });
    expect(run).toMatchObject({ code: 3, stdout: '' });
    expectOneLineError(run.stderr);
    expect(run.stderr).toContain(`cannot reach the gateway at ${url} (ECONNREFUSED)`);
  });

  it('gives up on a gateway that does not answer, within --timeout', async () => {
    const silent = await startStandIn(() => 'hang');
    try {
      const run = await cli(['flags', 'list', '--timeout', '300ms'], {
        ...env,
        CINEMAABYSS_GATEWAY: silent.url,
      });
      expect(run).toMatchObject({ code: 3, stdout: '' });
      expectOneLineError(run.stderr);
      expect(run.stderr).toContain(`no answer from the gateway at ${silent.url} within 300 ms (--timeout)`);
      // The stand-in runs in this process: on a loaded machine it may see the request after the CLI's exit.
      await waitFor(async () => silent.requests.length > 0, 5_000, 'the stand-in to see the request');
      expect(silent.requests).toHaveLength(1);
    } finally {
      await silent.close();
    }
  });
});

describe('cinemaabyss with a viewer token, against a real gateway', () => {
  const flag = uniqueFlag();
  const VIEWER_TOKEN = 'cli-test-viewer-token-0123456789-abcdef';
  let gateway: Gateway;
  let env: Record<string, string>;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cinemaabyss-cli-'));
    const tokenSha256 = createHash('sha256').update(VIEWER_TOKEN).digest('hex');
    await writeFile(
      join(dir, 'tokens.json'),
      JSON.stringify({ operators: [{ name: 'dashboards', role: 'viewer', tokenSha256 }] }),
    );
    gateway = await startGateway(flag, { env: { ADMIN_TOKENS_FILE: join(dir, 'tokens.json') } });
    env = { CINEMAABYSS_GATEWAY: gateway.url, CINEMAABYSS_TOKEN: VIEWER_TOKEN };
  });
  afterAll(() => gateway.close());

  it('reads, and a write is one readable line naming the 403, exit 1, nothing written', async () => {
    const list = await cli(['flags', 'get', flag, '--json'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ name: flag, percent: 0 });

    const set = await cli(['flags', 'set', flag, '--percent', '30'], env);
    expect(set).toMatchObject({ code: 1, stdout: '' });
    expectOneLineError(set.stderr);
    expect(set.stderr).toBe(
      "cinemaabyss: this token may not do that (403: operator 'dashboards' is a viewer: read-only)\n",
    );
    const after = await cli(['flags', 'history', flag, '--json'], env);
    expect(JSON.parse(after.stdout)).toEqual({ name: flag, history: [] });
  });
});
