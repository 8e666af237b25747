import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILURES_PER_WINDOW } from '../../src/admin/routes.js';
import { buildApp } from '../../src/app.js';
import { flagKey, historyKey } from '../../src/flags/store.js';
import {
  ADMIN_TOKEN,
  type Echo,
  policyFor,
  REDIS_URL,
  startUpstream,
  testConfig,
  type Upstream,
  uniqueFlag,
} from '../helpers.js';

const curl = (args: string[]) =>
  promisify(execFile)('curl', ['-sS', ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });

/** Sends `request` on a raw socket (nothing normalised) and resolves with all the gateway wrote back. */
function raw(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}
const statusOf = (answer: string) => Number(answer.match(/^HTTP\/1\.1 (\d{3})/)?.[1]);
const bodyOf = (answer: string) => answer.slice(answer.indexOf('\r\n\r\n') + 4);

describe('the edge against careless and hostile clients', () => {
  let monolith: Upstream;
  let movies: Upstream;
  let events: Upstream;
  let app: FastifyInstance;
  let port: number;
  let address: string;
  const flag = uniqueFlag();
  const redis = new Redis(REDIS_URL);

  beforeAll(async () => {
    [monolith, movies, events] = await Promise.all([
      startUpstream('monolith'),
      startUpstream('movies'),
      startUpstream('events'),
    ]);
    // Everything under /api/movies goes to the movies service, so a request that bypasses the flag shows.
    app = await buildApp(testConfig(), {
      policy: policyFor({ monolith: monolith.url, movies: movies.url, events: events.url }, flag, {
        enabled: true,
        percent: 100,
      }),
    });
    address = await app.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(address).port);
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([monolith.close(), movies.close(), events.close()]);
    await redis.del(flagKey(flag), historyKey(flag));
    redis.disconnect();
  });

  const fiveHundreds = async () =>
    (await app.inject('/metrics')).body.split('\n').filter((line) => /status_class="5xx"/.test(line));

  describe('Expect: 100-continue', () => {
    it('passes a body curl sends after 100 Continue, and never counts a 5xx', async () => {
      const file = join(tmpdir(), `edge-${flag}.json`);
      const body = JSON.stringify({ title: 'x'.repeat(200_000) });
      writeFileSync(file, body);
      const { stdout, stderr } = await curl([
        '-v',
        '-H',
        'Expect: 100-continue',
        '-H',
        'content-type: application/json',
        '--data-binary',
        `@${file}`,
        `${address}/api/users`,
      ]);
      expect(stderr).toMatch(/< HTTP\/1\.1 100 Continue/);
      const echo = JSON.parse(stdout) as Echo;
      expect(echo).toMatchObject({ upstream: 'monolith', method: 'POST' });
      expect(echo.body).toBe(body);
      expect(echo.headers.expect).toBeUndefined();
      expect(await fiveHundreds()).toEqual([]);
    });

    it('answers 413 instead of 100 Continue when the announced body is too large', async () => {
      const answer = await raw(
        port,
        'POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n',
      );
      expect(answer).not.toContain('100 Continue');
      expect(statusOf(answer)).toBe(413);
      expect(JSON.parse(bodyOf(answer))).toEqual({ error: 'request body is larger than 1048576 bytes' });
    });
  });

  describe('body limit', () => {
    it('answers a 10 MB POST with 413 JSON, every time, without reaching the upstream', async () => {
      const file = join(tmpdir(), `edge-${flag}.bin`);
      writeFileSync(file, Buffer.alloc(10_000_000, 'a'));
      const before = monolith.hits.get('/api/users') ?? 0;
      for (const expect100 of ['Expect:', 'Expect: 100-continue']) {
        for (let i = 0; i < 5; i++) {
          const { stdout } = await curl([
            '-H',
            expect100,
            '-w',
            '\n%{http_code}',
            '--data-binary',
            `@${file}`,
            `${address}/api/users`,
          ]);
          const [json, status] = stdout.split('\n');
          expect(status).toBe('413');
          expect(JSON.parse(json!)).toEqual({ error: 'request body is larger than 1048576 bytes' });
        }
      }
      expect(monolith.hits.get('/api/users') ?? 0).toBe(before);
    });

    it('answers a chunked body over the limit with 413 JSON, without reaching the upstream', async () => {
      const before = monolith.hits.get('/api/users') ?? 0;
      const res = await fetch(`${address}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new Blob([Buffer.alloc(1_048_577, 'a')]).stream(),
        duplex: 'half',
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ error: 'request body is larger than 1048576 bytes' });
      expect(monolith.hits.get('/api/users') ?? 0).toBe(before);
    });

    it('passes a chunked body at the limit, and a JSON body byte for byte', async () => {
      const body = `{"title": "caf\u00e9",  "raw": true}${' '.repeat(1_048_576 - 36)}`;
      const res = await fetch(`${address}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: new Blob([body]).stream(),
        duplex: 'half',
      });
      expect(res.status).toBe(200);
      const echo = (await res.json()) as Echo;
      expect(echo.body).toBe(body);
      expect(echo.headers['content-type']).toBe('application/json; charset=utf-8');
    });

    it('passes a body at the limit', async () => {
      const body = 'a'.repeat(1_048_576);
      const res = await fetch(`${address}/api/users`, { method: 'POST', body });
      expect(res.status).toBe(200);
      expect(((await res.json()) as Echo).body.length).toBe(body.length);
    });
  });

  describe('paths', () => {
    const get = (path: string, headers = '') =>
      raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`);

    it.each([
      '/api/./movies',
      '/api/%2e/movies',
      '/api/%2E/movies',
      '/api/.\\movies',
      '/api/movies/../users',
      '/api/movies/%2e%2e/users',
      '/api/movies/.%2E/users',
      '/api/movies/..',
      '/api//movies',
      '//api/movies',
      '/api/movies%2f1',
      '/api/movies%5C1',
      '/api/movies%00',
    ])('refuses %s with 400 before choosing a route', async (path) => {
      const answer = await get(path);
      expect(statusOf(answer)).toBe(400);
      expect(JSON.parse(bodyOf(answer)).error).toMatch(/is not in normal form/);
    });

    it('routes an encoded but unambiguous path exactly like /api/movies, flag included', async () => {
      const answer = await get('/api/movie%73?q=../..');
      expect(statusOf(answer)).toBe(200);
      expect(answer).toMatch(/x-upstream: movies/i);
      // The proxy passes the decoded path on: the upstream sees the same path the router saw.
      expect(JSON.parse(bodyOf(answer))).toMatchObject({ upstream: 'movies', url: '/api/movies?q=../..' });
    });
  });

  describe('client headers', () => {
    const echoOf = async (headers: Record<string, string>) => {
      const res = await fetch(`${address}/api/users`, { headers });
      return { echo: (await res.json()) as Echo, res };
    };

    it('keeps a well-formed X-Request-Id and replaces any other', async () => {
      const kept = await echoOf({ 'x-request-id': 'abc.DEF_1-2' });
      expect(kept.echo.headers['x-request-id']).toBe('abc.DEF_1-2');
      expect(kept.res.headers.get('x-request-id')).toBe('abc.DEF_1-2');
      for (const bad of ['a b', 'x'.repeat(129), '{"forged":1}', 'id,other']) {
        const { echo, res } = await echoOf({ 'x-request-id': bad });
        expect(echo.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.headers.get('x-request-id')).toBe(echo.headers['x-request-id']);
      }
    });

    it("drops a client's X-Upstream and replaces its X-Forwarded-For with the socket address", async () => {
      const { echo, res } = await echoOf({ 'x-upstream': 'movies', 'x-forwarded-for': '6.6.6.6' });
      expect(echo.headers['x-upstream']).toBeUndefined();
      expect(res.headers.get('x-upstream')).toBe('monolith');
      expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    });

    it.each([
      ['1', '1.1.1.1, 6.6.6.6', '6.6.6.6, 127.0.0.1'],
      ['2', '1.1.1.1, 6.6.6.6', '1.1.1.1, 6.6.6.6, 127.0.0.1'],
      ['127.0.0.1', '1.1.1.1, 6.6.6.6', '6.6.6.6, 127.0.0.1'],
      ['127.0.0.0/8, 6.6.6.0/24', '1.1.1.1, 6.6.6.6', '1.1.1.1, 6.6.6.6, 127.0.0.1'],
      ['10.0.0.0/8', '1.1.1.1, 6.6.6.6', '127.0.0.1'],
    ])('with TRUST_PROXY=%s trusts X-Forwarded-For only from those hops', async (trust, given, forwarded) => {
      const trusting = await buildApp(testConfig({ TRUST_PROXY: trust }), {
        policy: policyFor({ monolith: monolith.url, movies: movies.url, events: events.url }, flag),
      });
      try {
        const res = await trusting.inject({ url: '/api/users', headers: { 'x-forwarded-for': given } });
        expect(res.json<Echo>().headers['x-forwarded-for']).toBe(forwarded);
      } finally {
        await trusting.close();
      }
    });
  });

  describe('/api/events/recent', () => {
    it.each(['/api/events/recent', '/api/events/recent?type=user&limit=100', '/api/events/recen%74'])(
      'is not reachable through the gateway: %s',
      async (path) => {
        const res = await fetch(`${address}${path}`);
        expect(res.status).toBe(404);
        expect(await res.json()).toHaveProperty('error');
        expect(events.hits.get('/api/events/recent') ?? 0).toBe(0);
        expect(events.hits.get('/api/events/recen%74') ?? 0).toBe(0);
      },
    );

    it('leaves the rest of /api/events proxied', async () => {
      const res = await fetch(`${address}/api/events/health`);
      expect(res.headers.get('x-upstream')).toBe('events');
    });
  });

  describe('admin authentication', () => {
    let guarded: FastifyInstance;
    const lines: Record<string, unknown>[] = [];
    const admin = (authorization?: string) =>
      guarded.inject({ url: '/admin/flags', headers: authorization ? { authorization } : {} });

    beforeAll(async () => {
      guarded = await buildApp(testConfig({ LOG_LEVEL: 'warn' }), {
        policy: policyFor({ monolith: monolith.url, movies: movies.url, events: events.url }, flag),
        logger: { level: 'warn', stream: { write: (line: string) => lines.push(JSON.parse(line)) } },
      });
    });
    afterAll(() => guarded.close());

    it('accepts the Bearer scheme in any letter case, but not a wrong token', async () => {
      for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR'])
        expect((await admin(`${scheme} ${ADMIN_TOKEN}`)).statusCode).toBe(200);
      expect((await admin(`Bearer ${ADMIN_TOKEN.toUpperCase()}`)).statusCode).toBe(401);
      expect((await admin(`Basic ${ADMIN_TOKEN}`)).statusCode).toBe(401);
    });

    it(`answers 429 with Retry-After after ${AUTH_FAILURES_PER_WINDOW} failures a minute, logs and counts each`, async () => {
      const failuresBefore = lines.filter((line) => line.msg === 'admin authentication failed').length;
      const statuses: number[] = [];
      // The first test already failed twice from this address.
      for (let i = 0; i < AUTH_FAILURES_PER_WINDOW; i++)
        statuses.push((await admin('Bearer wrong')).statusCode);
      expect(statuses).toEqual([...Array(AUTH_FAILURES_PER_WINDOW - 2).fill(401), 429, 429]);
      const limited = await admin();
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.json().error).toMatch(/too many failed authentications from this address; retry in/);
      // The right token still gets in: only failures count.
      expect((await admin(`Bearer ${ADMIN_TOKEN}`)).statusCode).toBe(200);

      const failed = lines.filter((line) => line.msg === 'admin authentication failed');
      expect(failed.length - failuresBefore).toBe(AUTH_FAILURES_PER_WINDOW - 2);
      expect(failed.at(-1)).toMatchObject({ level: 40, ip: '127.0.0.1' });
      expect(JSON.stringify(lines)).not.toContain(ADMIN_TOKEN);
      const metrics = (await guarded.inject('/metrics')).body;
      expect(metrics).toContain(
        `gateway_admin_auth_failures_total{status="401"} ${AUTH_FAILURES_PER_WINDOW}`,
      );
      expect(metrics).toContain('gateway_admin_auth_failures_total{status="429"} 3');
    });
  });

  it('/metrics: no sample carries an undefined or empty label, admin requests included', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    await app.inject({ url: '/admin/flags', headers: auth });
    await app.inject({ url: '/admin/flags' });
    await app.inject({ url: '/nope' });
    await app.inject({ url: '/api/movies' });
    const samples = (await app.inject('/metrics')).body.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(
      samples.some((s) => s.startsWith('gateway_requests_total{route="/api/movies",upstream="movies"')),
    ).toBe(true);
    const labels = samples.flatMap((sample) => [
      ...(sample.match(/\{(.*)\}/)?.[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g),
    ]);
    expect(labels.length).toBeGreaterThan(100);
    const bad = labels.filter(([, , value]) => value === '' || value === 'undefined').map(([label]) => label);
    expect(bad).toEqual([]);
  });
});
