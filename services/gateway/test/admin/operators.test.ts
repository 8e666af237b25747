import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOperators, sha256Hex } from '../../src/admin/operators.js';
import { buildApp } from '../../src/app.js';
import {
  ADMIN_TOKEN,
  bearer,
  operatorsFile,
  operatorsJson,
  policyFor,
  REDIS_URL,
  testConfig,
  uniqueFlag,
  waitFor,
} from '../helpers.js';

const nowhere = 'http://127.0.0.1:9';
const READS = new Set(['GET', 'HEAD']);

/** Every admin route of the app (method and path), read from Fastify's own route tree. */
function adminRoutesOf(app: FastifyInstance): string[] {
  const path: string[] = [];
  const routes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    path.length = match[1]!.length / 4;
    path.push(match[2]!);
    for (const method of match[3]!.split(', ')) routes.push(`${method} ${path.join('')}`);
  }
  // The console's page and files (/admin/console) are served to anyone: they hold no data (docs/console.md).
  return routes.filter((route) => {
    const url = route.split(' ')[1]!;
    return url.startsWith('/admin/') && !url.startsWith('/admin/console');
  });
}

/** Everything Redis holds under keys naming `flag` (flag, history, shadow, rollout), by key. */
async function keysOf(redis: Redis, flag: string): Promise<Record<string, unknown>> {
  const keys = (await redis.keys(`*${flag}*`)).sort();
  const values: Record<string, unknown> = {};
  for (const key of keys) {
    const type = await redis.type(key);
    values[key] =
      type === 'hash'
        ? await redis.hgetall(key)
        : type === 'list'
          ? await redis.lrange(key, 0, -1)
          : type === 'string'
            ? await redis.get(key)
            : type;
  }
  return values;
}

describe('named operators from ADMIN_TOKENS_FILE', () => {
  const flag = uniqueFlag();
  const domain = uniqueFlag();
  const redis = new Redis(REDIS_URL);
  let app: FastifyInstance;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const file = operatorsFile({ alice: 'operator', dashboards: 'viewer' });
    app = await buildApp(testConfig({ ADMIN_TOKENS_FILE: file }), {
      policy: policyFor({ monolith: nowhere, movies: nowhere, events: nowhere }, flag),
      logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line)) } },
    });
    await waitFor(
      async () => (await app.inject({ url: '/ready' })).json().status === 'ready',
      5_000,
      'the gateway to read its flag from Redis',
    );
  });
  afterAll(async () => {
    await app.close();
    const keys = await redis.keys(`*${flag}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('names the caller and its role (GET /admin/me), ADMIN_TOKEN as "admin"', async () => {
    for (const [headers, me] of [
      [bearer('alice'), { name: 'alice', role: 'operator' }],
      [bearer('dashboards'), { name: 'dashboards', role: 'viewer' }],
      [{ authorization: `Bearer ${ADMIN_TOKEN}` }, { name: 'admin', role: 'operator' }],
    ] as const) {
      const res = await app.inject({ url: '/admin/me', headers });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(me);
    }
    const stranger = await app.inject({ url: '/admin/me', headers: bearer('mallory') });
    expect(stranger.statusCode).toBe(401);
  });

  it('lets a viewer read every admin endpoint', async () => {
    const reads = adminRoutesOf(app).filter((route) => route.startsWith('GET '));
    expect(reads).toContain('GET /admin/flags/:name/history');
    for (const route of reads) {
      const url = route.slice(4).replace(':name', flag).replace(':domain', domain);
      const res = await app.inject({ url, headers: bearer('dashboards') });
      // GET …/rollout is 404 while the flag has none, GET /admin/data/… while the domain has no status;
      // what matters is that the role let it through.
      expect([200, 404], route).toContain(res.statusCode);
      if (res.statusCode === 404)
        expect(res.json().error, route).toMatch(/^(no rollout of|no data status for domain)/);
    }
  });

  it('answers a viewer 403 on every write endpoint and writes nothing; an operator may write', async () => {
    // A body each write route accepts; a write route added without one here fails this test.
    const samples: Record<string, unknown> = {
      'PUT /admin/flags/:name': { percent: 20 },
      'PUT /admin/flags/import': { flags: { [flag]: { enabled: true, percent: 30 } } },
      'PUT /admin/flags/:name/shadow': { percent: 10 },
      'POST /admin/flags/:name/shadow/reset': undefined,
      'POST /admin/flags/:name/rollout': { steps: [50, 100], intervalMs: 3_600_000 },
      'POST /admin/flags/:name/rollout/pause': undefined,
      'POST /admin/flags/:name/rollout/promote': undefined,
      'POST /admin/flags/:name/rollout/resume': undefined,
      'POST /admin/flags/:name/rollout/abort': undefined,
      'POST /admin/data/:domain/verify': undefined,
    };
    const writes = adminRoutesOf(app).filter((route) => !READS.has(route.split(' ')[0]!));
    expect(writes.sort()).toEqual(Object.keys(samples).sort());
    const send = (route: string, headers: Record<string, string>) => {
      const [method, path] = route.split(' ') as ['PUT' | 'POST', string];
      const body = samples[route];
      return app.inject({
        method,
        url: path.replace(':name', flag).replace(':domain', domain),
        headers: { ...headers, 'x-operator': 'alice' },
        ...(body !== undefined && { payload: body as object }),
      });
    };

    const before = await keysOf(redis, flag);
    expect(Object.keys(before).length).toBeGreaterThan(0);
    for (const route of Object.keys(samples)) {
      const res = await send(route, bearer('dashboards'));
      expect(res.statusCode, route).toBe(403);
      expect(res.json(), route).toEqual({ error: "operator 'dashboards' is a viewer: read-only" });
    }
    expect(await keysOf(redis, flag)).toEqual(before);
    expect(lines.filter((line) => line.msg === 'admin write refused: the operator is a viewer')).toHaveLength(
      Object.keys(samples).length,
    );

    // The same requests do write with an operator's token: the 403s above were the role, not the input.
    for (const route of Object.keys(samples)) {
      const res = await send(route, bearer('alice'));
      expect(res.statusCode, `${route}: ${res.body}`).toBeLessThan(300);
    }
    expect(await keysOf(redis, flag)).not.toEqual(before);
  });

  it('records the operator of the token in the history, rollout and logs, whatever X-Operator says', async () => {
    const put = await app.inject({
      method: 'PUT',
      url: `/admin/flags/${flag}`,
      headers: { ...bearer('alice'), 'x-operator': 'mallory' },
      payload: { percent: 5 },
    });
    expect(put.statusCode).toBe(200);
    const { history } = (
      await app.inject({ url: `/admin/flags/${flag}/history`, headers: bearer('dashboards') })
    ).json();
    expect(history[0]).toMatchObject({ by: 'alice (127.0.0.1)', new: { percent: 5 } });
    expect(lines.filter((line) => line.msg === 'flag changed through the admin API').at(-1)).toMatchObject({
      flag,
      by: 'alice (127.0.0.1)',
    });

    const started = await app.inject({
      method: 'POST',
      url: `/admin/flags/${flag}/rollout`,
      headers: { ...bearer('alice'), 'x-operator': 'mallory' },
      payload: { steps: [50, 100], intervalMs: 3_600_000 },
    });
    expect(started.statusCode).toBe(201);
    const aborted = await app.inject({
      method: 'POST',
      url: `/admin/flags/${flag}/rollout/abort`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-operator': 'mallory' },
    });
    expect(aborted.statusCode).toBe(200);
    const { decisions } = aborted.json() as { decisions: Array<{ outcome: string; by: string }> };
    expect(decisions.map(({ outcome, by }) => [outcome, by])).toEqual([
      ['abort', 'admin (127.0.0.1)'],
      ['start', 'alice (127.0.0.1)'],
    ]);
    expect(JSON.stringify([history, decisions, lines])).not.toContain('mallory');
  });
});

describe('rotating ADMIN_TOKENS_FILE without a restart', () => {
  const apps: FastifyInstance[] = [];
  afterAll(() => Promise.all(apps.map((app) => app.close())));

  /** A gateway on `file`, whose log lines land in `lines`. */
  async function gatewayOn(file: string, overrides: Record<string, string> = {}) {
    const lines: Record<string, unknown>[] = [];
    const app = await buildApp(testConfig({ ADMIN_TOKEN: '', ADMIN_TOKENS_FILE: file, ...overrides }), {
      policy: policyFor({ monolith: nowhere, movies: nowhere, events: nowhere }, uniqueFlag()),
      logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line)) } },
    });
    apps.push(app);
    const me = async (name: string) => {
      const res = await app.inject({ url: '/admin/me', headers: bearer(name) });
      return res.statusCode === 200 ? res.json().role : res.statusCode;
    };
    // Polls /metrics, not the admin API: its 401s would soon be rate-limited.
    const until = (text: string, what: string) =>
      waitFor(
        async () =>
          (await app.inject('/metrics')).body.includes(
            `gateway_admin_operators{version="${sha256Hex(text).slice(0, 12)}"}`,
          ),
        10_000,
        what,
      );
    return { app, lines, me, until };
  }

  it('takes a file rewritten in place and one renamed over it', async () => {
    const file = operatorsFile({ alice: 'operator' });
    const { me, until } = await gatewayOn(file);
    expect(await me('alice')).toBe('operator');
    expect(await me('bob')).toBe(401);

    const rewritten = operatorsJson({ alice: 'viewer', bob: 'operator' });
    writeFileSync(file, rewritten);
    await until(rewritten, 'the rewritten file to be in force');
    expect(await me('bob')).toBe('operator');
    expect(await me('alice')).toBe('viewer');

    const renamed = operatorsJson({ carol: 'operator' });
    writeFileSync(`${file}.new`, renamed);
    renameSync(`${file}.new`, file);
    await until(renamed, 'the renamed file to be in force');
    expect(await me('carol')).toBe('operator');
    expect(await me('alice')).toBe(401);
    expect(await me('bob')).toBe(401);
  });

  it('follows a Kubernetes Secret volume, whose update swaps a symlink to a new directory', async () => {
    // What the kubelet does: tokens.json -> ..data/tokens.json, ..data -> ..<timestamp>/, swapped by rename.
    const dir = mkdtempSync(join(tmpdir(), 'gateway-secret-'));
    const version = (name: string, operators: Parameters<typeof operatorsJson>[0]) => {
      const text = operatorsJson(operators);
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'tokens.json'), text);
      symlinkSync(name, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      return text;
    };
    version('..v1', { alice: 'operator' });
    symlinkSync('..data/tokens.json', join(dir, 'tokens.json'));
    const { me, until } = await gatewayOn(join(dir, 'tokens.json'));
    expect(await me('alice')).toBe('operator');

    await until(version('..v2', { dave: 'viewer' }), 'the swapped Secret to be in force');
    expect(await me('dave')).toBe('viewer');
    expect(await me('alice')).toBe(401);
  });

  it('keeps the table in force when a changed file is bad, and says so once in the log and /metrics', async () => {
    const file = operatorsFile({ alice: 'operator' });
    // Polled every 20 ms: a refusal must still be reported once, not at every poll.
    const { app, lines, me, until } = await gatewayOn(file, { ADMIN_TOKENS_POLL_MS: '20' });
    const metrics = async () => (await app.inject('/metrics')).body;
    const first = sha256Hex(operatorsJson({ alice: 'operator' })).slice(0, 12);
    expect(await metrics()).toContain(`gateway_admin_operators{version="${first}"} 1`);

    const bad = JSON.parse(operatorsJson({ alice: 'operator', bob: 'operator' }));
    bad.operators[1].tokenSha256 = 'abc';
    writeFileSync(file, JSON.stringify(bad));
    const refusal = `ADMIN_TOKENS_FILE ${file}: operators[1].tokenSha256: must be 64 hex characters; the operators of version ${first} stay in force`;
    await waitFor(() => lines.some((line) => line.msg === refusal), 10_000, 'the refusal in the log');
    expect(lines.find((line) => line.msg === refusal)).toMatchObject({ level: 50 });
    expect(await me('alice')).toBe('operator');
    expect(await me('bob')).toBe(401);
    expect(await metrics()).toContain(`gateway_admin_operators{version="${first}"} 1`);

    // Another bad file, and the file gone for a moment (as in a careless rotation): one refusal each.
    writeFileSync(file, '{"operators": [');
    await waitFor(
      () => lines.some((line) => String(line.msg).includes('not valid JSON')),
      10_000,
      'the second refusal in the log',
    );
    renameSync(file, `${file}.away`);
    await waitFor(
      () => lines.some((line) => String(line.msg).includes('cannot read it (ENOENT')),
      10_000,
      'the missing file in the log',
    );
    renameSync(`${file}.away`, file);
    await waitFor(
      () => lines.filter((line) => String(line.msg).includes('not valid JSON')).length === 2,
      10_000,
      'the file back, still bad',
    );
    const refusals = lines.filter((line) => line.level === 50).map((line) => String(line.msg));
    expect(refusals).toHaveLength(4);
    expect(refusals[0]).toBe(refusal);
    expect(refusals[1]).toMatch(/^ADMIN_TOKENS_FILE \S+: not valid JSON \(/);
    expect(refusals[2]).toMatch(/^ADMIN_TOKENS_FILE \S+: cannot read it \(ENOENT/);
    expect(refusals[3]).toBe(refusals[1]);
    expect(await me('alice')).toBe('operator');
    expect(await metrics()).toContain('gateway_admin_operators_refused_total 4');

    // A fixed file is taken again.
    const fixed = operatorsJson({ alice: 'operator', bob: 'operator' });
    writeFileSync(file, fixed);
    await until(fixed, 'the fixed file to be in force');
    expect(await me('bob')).toBe('operator');
  });
});

describe('a bad ADMIN_TOKENS_FILE at start-up', () => {
  const refusal = (text: string, adminToken?: string) => {
    try {
      parseOperators('/x.json', text, adminToken);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('the file was accepted');
  };
  const hash = sha256Hex('some-token');
  const entry = (name: string, role = 'operator', tokenSha256 = hash) => ({ name, role, tokenSha256 });
  const file = (...operators: unknown[]) => JSON.stringify({ operators });

  it('names the entry and what is wrong with it', () => {
    expect(refusal(file(entry('alice'), entry('bob', 'operator', 'abc')))).toBe(
      'ADMIN_TOKENS_FILE /x.json: operators[1].tokenSha256: must be 64 hex characters',
    );
    expect(refusal(file(entry('Alice')))).toBe(
      'ADMIN_TOKENS_FILE /x.json: operators[0].name: must be 1 to 64 characters of a-z, 0-9, ".", "_", "-"',
    );
    expect(refusal(file(entry('a'.repeat(65))))).toMatch(
      /^ADMIN_TOKENS_FILE \/x\.json: operators\[0\]\.name:/,
    );
    expect(refusal(file(entry('alice', 'root')))).toBe(
      'ADMIN_TOKENS_FILE /x.json: operators[0].role: must be one of operator, viewer',
    );
    expect(refusal(file({ ...entry('alice'), token: 'plain' }))).toBe(
      'ADMIN_TOKENS_FILE /x.json: operators[0]: Unrecognized key: "token"',
    );
    expect(refusal('{"operators": [')).toMatch(/^ADMIN_TOKENS_FILE \/x\.json: not valid JSON \(/);
    expect(refusal('{}')).toBe('ADMIN_TOKENS_FILE /x.json: operators: must be a list of operators');
  });

  it('refuses a name or a token used twice, ADMIN_TOKEN included', () => {
    const other = sha256Hex('other-token');
    expect(refusal(file(entry('alice'), entry('alice', 'viewer', other)))).toBe(
      'ADMIN_TOKENS_FILE /x.json: operators[1].name: "alice" is already the name of operators[0]',
    );
    expect(refusal(file(entry('alice'), entry('bob')))).toBe(
      'ADMIN_TOKENS_FILE /x.json: operators[1].tokenSha256: is also the token of "alice"',
    );
    expect(refusal(file(entry('admin')), ADMIN_TOKEN)).toBe(
      'ADMIN_TOKENS_FILE /x.json: operators[0].name: "admin" is already the name of ADMIN_TOKEN',
    );
    expect(refusal(file(entry('alice', 'operator', sha256Hex(ADMIN_TOKEN))), ADMIN_TOKEN)).toBe(
      'ADMIN_TOKENS_FILE /x.json: operators[0].tokenSha256: is also the token of "admin"',
    );
  });

  it('accepts upper-case hex, as some tools print it', () => {
    const table = parseOperators('/x.json', file(entry('alice', 'viewer', hash.toUpperCase())));
    expect([...table]).toEqual([[hash, { name: 'alice', role: 'viewer' }]]);
  });

  it('stops buildApp with that message, and with a missing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-operators-'));
    const bad = join(dir, 'tokens.json');
    writeFileSync(bad, file(entry('alice', 'operator', 'xyz')));
    await expect(buildApp(testConfig({ ADMIN_TOKENS_FILE: bad }))).rejects.toThrow(
      new ConfigError(`ADMIN_TOKENS_FILE ${bad}: operators[0].tokenSha256: must be 64 hex characters`),
    );
    await expect(buildApp(testConfig({ ADMIN_TOKENS_FILE: join(dir, 'missing.json') }))).rejects.toThrow(
      `ADMIN_TOKENS_FILE ${join(dir, 'missing.json')}: cannot read it (ENOENT`,
    );
  });
});

describe('ADMIN_TOKEN alone', () => {
  it('is the operator "admin", and without it or a file there is no admin API', async () => {
    const flag = uniqueFlag();
    const app = await buildApp(testConfig(), {
      policy: policyFor({ monolith: nowhere, movies: nowhere, events: nowhere }, flag),
    });
    const redis = new Redis(REDIS_URL);
    try {
      const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
      expect((await app.inject({ url: '/admin/me', headers: auth })).json()).toEqual({
        name: 'admin',
        role: 'operator',
      });
      await waitFor(
        async () => (await app.inject({ url: '/ready' })).json().status === 'ready',
        5_000,
        'the gateway to read its flag from Redis',
      );
      const put = await app.inject({
        method: 'PUT',
        url: `/admin/flags/${flag}`,
        headers: { ...auth, 'x-operator': 'alice' },
        payload: { percent: 7 },
      });
      expect(put.statusCode).toBe(200);
      expect(put.json().change).toMatchObject({ by: 'admin (127.0.0.1)' });
    } finally {
      await app.close();
      const keys = await redis.keys(`*${flag}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
    const off = await buildApp(testConfig({ ADMIN_TOKEN: '' }));
    expect((await off.inject({ url: '/admin/me' })).statusCode).toBe(404);
    await off.close();
  });
});
