import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { flagKey, historyKey } from '../../src/flags/store.js';
import {
  type Echo,
  policyFor,
  REDIS_URL,
  refusedUrl,
  startUpstream,
  testConfig,
  type Upstream,
  uniqueFlag,
} from '../helpers.js';

describe('routing through real upstreams', () => {
  let monolith: Upstream;
  let movies: Upstream;
  let events: Upstream;
  let app: FastifyInstance;
  const flag = uniqueFlag();
  const redis = new Redis(REDIS_URL);

  beforeAll(async () => {
    [monolith, movies, events] = await Promise.all([
      startUpstream('monolith'),
      startUpstream('movies'),
      startUpstream('events'),
    ]);
    app = await buildApp(testConfig(), {
      policy: policyFor({ monolith: monolith.url, movies: movies.url, events: events.url }, flag),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([monolith.close(), movies.close(), events.close()]);
    await redis.del(flagKey(flag), historyKey(flag));
    redis.disconnect();
  });

  it('passes path and query unchanged and marks the upstream', async () => {
    const res = await app.inject({ url: '/api/movies?id=3&x=a%20b' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-upstream']).toBe('monolith');
    expect(res.json<Echo>()).toMatchObject({ upstream: 'monolith', url: '/api/movies?id=3&x=a%20b' });
    // The upstream's own keep-alive terms are hop-by-hop: they must not reach the client.
    expect(res.headers['keep-alive']).toBeUndefined();
  });

  it('routes /api/events to events and other /api paths to the monolith', async () => {
    const eventsRes = await app.inject({ url: '/api/events/health' });
    expect(eventsRes.json<Echo>()).toMatchObject({ upstream: 'events', url: '/api/events/health' });
    const users = await app.inject({ url: '/api/users?id=1' });
    expect(users.headers['x-upstream']).toBe('monolith');
    expect(users.json<Echo>().url).toBe('/api/users?id=1');
  });

  it('streams bodies of every method and sets forwarding headers', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(100_000) });
    const res = await app.inject({
      method: 'POST',
      url: '/api/events/movie',
      headers: {
        'content-type': 'application/json',
        host: 'cinema.example',
        'x-request-id': 'req-42',
        connection: 'keep-alive, x-secret',
        'x-secret': 's',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
      },
      payload: body,
    });
    const echo = res.json<Echo>();
    expect(echo).toMatchObject({ upstream: 'events', method: 'POST', body });
    expect(echo.headers).toMatchObject({
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'cinema.example',
      'x-request-id': 'req-42',
    });
    expect(echo.headers['x-secret']).toBeUndefined();
    expect(echo.headers['keep-alive']).toBeUndefined();
    expect(echo.headers['proxy-authorization']).toBeUndefined();
    expect(res.headers['x-request-id']).toBe('req-42');
    for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
      const r = await app.inject({
        method,
        url: '/api/payments/1',
        payload: 'raw',
        headers: { 'content-type': 'text/plain' },
      });
      expect(r.json<Echo>()).toMatchObject({ method, body: 'raw', upstream: 'monolith' });
    }
  });

  it("passes a small response's headers and length, and answers HEAD without a body", async () => {
    const res = await app.inject({ url: '/api/users?id=1' });
    expect(res.headers['content-type']).toBe('application/json');
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
    expect(res.json<Echo>()).toMatchObject({ upstream: 'monolith', url: '/api/users?id=1' });
    const head = await app.inject({ method: 'HEAD', url: '/api/users?id=1' });
    expect(head.statusCode).toBe(200);
    expect(head.rawPayload.length).toBe(0);
  });

  it('streams a large response: its first half arrives before the upstream sends the rest', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${address}/api/users/drip`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let received = 0;
    // Only the first half exists until releaseDrips(): a gateway that buffered it would never get here.
    while (received < 32_768) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`response ended after ${received} bytes`);
      received += value.length;
    }
    expect(received).toBe(32_768);
    monolith.releaseDrips();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      received += chunk.value.length;
    expect(received).toBe(65_536);
  });

  it('generates a request id when the caller sends none', async () => {
    const echo = (await app.inject({ url: '/api/users' })).json<Echo>();
    expect(echo.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves health, readiness and metrics', async () => {
    const health = await app.inject({ url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.body).toBe('Strangler Fig Proxy is healthy');
    const ready = await app.inject({ url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', redis: 'connected' });
    const metrics = (await app.inject({ url: '/metrics' })).body;
    // A migrating route's series name its flag and side.
    expect(metrics).toMatch(
      new RegExp(
        `gateway_requests_total\\{route="/api/movies",upstream="monolith",flag="${flag}",side="old",status_class="2xx"\\} \\d+`,
      ),
    );
    expect(metrics).toContain(`gateway_flag_percent{flag="${flag}"} 0`);
    expect(metrics).toContain('gateway_request_duration_seconds_bucket');
  });

  it('answers JSON 404 outside the route table', async () => {
    const res = await app.inject({ url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toHaveProperty('error');
  });
});

describe('access log', () => {
  let monolith: Upstream;
  const flag = uniqueFlag();
  const redis = new Redis(REDIS_URL);

  beforeAll(async () => {
    monolith = await startUpstream('monolith');
  });
  afterAll(async () => {
    await monolith.close();
    await redis.del(flagKey(flag), historyKey(flag));
    redis.disconnect();
  });

  async function logLinesOf(accessLog: string, url: string): Promise<Record<string, unknown>[]> {
    const lines: Record<string, unknown>[] = [];
    const stream = { write: (line: string) => lines.push(JSON.parse(line)) };
    const app = await buildApp(testConfig({ LOG_LEVEL: 'info', ACCESS_LOG: accessLog }), {
      policy: policyFor({ monolith: monolith.url, movies: monolith.url, events: monolith.url }, flag),
      logger: { level: 'info', stream },
    });
    try {
      await app.inject({ url, headers: { 'x-request-id': 'req-log-1' } });
    } finally {
      await app.close();
    }
    return lines.filter((line) => line.reqId === 'req-log-1');
  }

  it('writes one line per request with status, upstream and duration', async () => {
    const lines = await logLinesOf('true', '/api/movies?id=1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      method: 'GET',
      url: '/api/movies?id=1',
      statusCode: 200,
      upstream: 'monolith',
    });
    expect(lines[0]!.ms).toEqual(expect.any(Number));
  });

  it('writes none with ACCESS_LOG=false', async () => {
    expect(await logLinesOf('false', '/api/movies')).toEqual([]);
  });

  it('asks keep-alive clients to reconnect elsewhere while draining', async () => {
    let draining = false;
    const app = await buildApp(testConfig(), {
      policy: policyFor({ monolith: monolith.url, movies: monolith.url, events: monolith.url }, flag),
      isShuttingDown: () => draining,
    });
    try {
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      expect((await fetch(`${address}/api/users`)).headers.get('connection')).toBe('keep-alive');
      draining = true;
      const res = await fetch(`${address}/api/users`);
      expect(res.status).toBe(200);
      expect(res.headers.get('connection')).toBe('close');
    } finally {
      await app.close();
    }
  });
});

describe('upstream failures', () => {
  let monolith: Upstream;
  let app: FastifyInstance;
  let address: string;
  const flag = uniqueFlag();
  const redis = new Redis(REDIS_URL);

  beforeAll(async () => {
    monolith = await startUpstream('monolith');
    const down = await refusedUrl();
    // Everything migrated to a movies service that is down; events is down too.
    app = await buildApp(testConfig({ UPSTREAM_TIMEOUT_MS: '200' }), {
      policy: policyFor({ monolith: monolith.url, movies: down, events: down }, flag, {
        enabled: true,
        percent: 100,
      }),
    });
    address = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await monolith.close();
    await redis.del(flagKey(flag), historyKey(flag));
    redis.disconnect();
  });

  // Bodies go over real HTTP: light-my-request rejects inject() when the proxy destroys its body stream.
  it('answers 502 JSON when the upstream refuses the connection', async () => {
    const res = await fetch(`${address}/api/events/movie`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ movie_id: 1 }),
    });
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: 'upstream events is unavailable' });
  });

  it('answers 502 when the upstream resets the connection', async () => {
    const res = await app.inject({ url: '/api/users/reset' });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toEqual({ error: 'upstream monolith is unavailable' });
  });

  it('answers 502 JSON, not a truncated 200, when the upstream dies in the middle of a small body', async () => {
    const res = await app.inject({ url: '/api/users/truncate', headers: { 'x-request-id': 'req-cut' } });
    expect(res.statusCode).toBe(502);
    expect(res.headers['x-upstream']).toBe('monolith');
    expect(res.headers['x-request-id']).toBe('req-cut');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ error: 'upstream monolith is unavailable' });
  });

  it('answers 504 JSON when the upstream does not answer in time', async () => {
    const res = await app.inject({ url: '/api/users/slow?ms=1000' });
    expect(res.statusCode).toBe(504);
    expect(res.json()).toEqual({ error: 'upstream monolith timed out' });
  });

  it('does not retry a 503 from the upstream', async () => {
    const res = await app.inject({ url: '/api/users/busy' });
    expect(res.statusCode).toBe(503);
    expect(monolith.hits.get('/api/users/busy')).toBe(1);
  });

  it('falls back to the monolith for a GET the new service cannot take, and counts it', async () => {
    const res = await app.inject({ url: '/api/movies?id=7' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-upstream']).toBe('monolith');
    expect(res.json<Echo>().url).toBe('/api/movies?id=7');
    const metrics = (await app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(
      new RegExp(
        `gateway_fallbacks_total\\{route="/api/movies",flag="${flag}",from="movies",to="monolith"\\} [1-9]`,
      ),
    );
  });

  it('never replays a POST on the monolith', async () => {
    const before = monolith.hits.get('/api/movies') ?? 0;
    const res = await fetch(`${address}/api/movies`, {
      method: 'POST',
      body: '{"title":"x"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: 'upstream movies is unavailable' });
    expect(monolith.hits.get('/api/movies') ?? 0).toBe(before);
  });
});
