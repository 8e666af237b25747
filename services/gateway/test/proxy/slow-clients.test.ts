import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { flagKey, historyKey } from '../../src/flags/store.js';
import {
  policyFor,
  REDIS_URL,
  startUpstream,
  testConfig,
  type Upstream,
  uniqueFlag,
  waitFor,
} from '../helpers.js';

const HEADERS_MS = 1_500;
const REQUEST_MS = 3_000;
const KEEP_ALIVE_MS = 2_000;
const MAX_UPSTREAM_CONNECTIONS = 10;
// Node closes overdue sockets from a periodic check (for requests every min(1 s, headers timeout)), so
// a cut may come up to about a second late (measured: idle sockets about 1.05 s late).
const CHECK_MS = Math.min(1_000, HEADERS_MS);
const SLACK_MS = 500;

interface Slow {
  kind: 'headers' | 'body' | 'idle';
  socket: Socket;
  openedAt: number;
  closedAt?: number;
}

describe('300 slow clients', () => {
  let monolith: Upstream;
  let events: Upstream;
  let app: FastifyInstance;
  let port: number;
  const flag = uniqueFlag();
  const redis = new Redis(REDIS_URL);
  /** Requests the events upstream has open, and the most it ever had at once. */
  let eventsOpen = 0;
  let eventsPeak = 0;

  beforeAll(async () => {
    [monolith, events] = await Promise.all([startUpstream('monolith'), startUpstream('events')]);
    events.server.on('request', (_req, res) => {
      eventsPeak = Math.max(eventsPeak, ++eventsOpen);
      res.once('close', () => eventsOpen--);
    });
    app = await buildApp(
      testConfig({
        CLIENT_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
        CLIENT_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
        CLIENT_KEEP_ALIVE_MS: String(KEEP_ALIVE_MS),
        UPSTREAM_MAX_CONNECTIONS: String(MAX_UPSTREAM_CONNECTIONS),
      }),
      { policy: policyFor({ monolith: monolith.url, movies: monolith.url, events: events.url }, flag) },
    );
    port = Number(new URL(await app.listen({ port: 0, host: '127.0.0.1' })).port);
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([monolith.close(), events.close()]);
    await redis.del(flagKey(flag), historyKey(flag));
    redis.disconnect();
  });

  /**
   * Opens a socket, writes `text` and keeps it open until the gateway closes it; resolves once written,
   * or for `idle` once the answer has arrived (`openedAt` is then the answer's arrival).
   */
  function open(kind: Slow['kind'], text: string): Promise<Slow> {
    return new Promise((resolve, reject) => {
      const slow: Slow = { kind, socket: connect(port, '127.0.0.1'), openedAt: 0 };
      slow.socket.on('connect', () => {
        slow.openedAt = performance.now();
        slow.socket.write(text, () => kind !== 'idle' && resolve(slow));
      });
      slow.socket.once('data', () => {
        // An idle connection's timer starts with the answer.
        if (kind === 'idle') slow.openedAt = performance.now();
        resolve(slow);
      });
      slow.socket.on('error', () => {});
      slow.socket.on('close', () => {
        slow.closedAt = performance.now();
      });
      slow.socket.once('error', reject);
    });
  }

  it('cuts each off within its timeout and serves normal requests meanwhile', async () => {
    const client = new Agent({ connections: 8 });
    const statuses: number[] = [];
    const served = async () => {
      const res = await request(`http://127.0.0.1:${port}/api/movies?id=1`, { dispatcher: client });
      await res.body.text();
      statuses.push(res.statusCode);
    };
    for (let i = 0; i < 50; i++) await served();
    statuses.length = 0;
    // One answered request each, then idle keep-alive connections.
    const idle = await Promise.all(
      Array.from({ length: 100 }, () => open('idle', 'GET /api/users HTTP/1.1\r\nHost: x\r\n\r\n')),
    );
    const slow = [
      ...idle,
      ...(await Promise.all([
        // Headers that never end.
        ...Array.from({ length: 100 }, () =>
          open('headers', 'GET /api/users HTTP/1.1\r\nHost: x\r\nX-Slow: '),
        ),
        // Whole headers, then 10 of the 100 announced body bytes: the gateway waits for the rest.
        ...Array.from({ length: 100 }, () =>
          open(
            'body',
            `POST /api/events/movie HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n${'x'.repeat(10)}`,
          ),
        ),
      ])),
    ];
    expect(slow).toHaveLength(300);

    for (let batch = 0; batch < 4; batch++) await Promise.all(Array.from({ length: 8 }, served));
    expect(slow.filter((s) => s.closedAt !== undefined).map((s) => s.kind)).toEqual([]);
    expect(statuses).toEqual(Array(32).fill(200));
    await client.close();

    await waitFor(
      () => slow.every((s) => s.closedAt !== undefined),
      REQUEST_MS + CHECK_MS + 5_000,
      'the gateway to close every slow connection',
    );
    const heldFor = (kind: Slow['kind']) => {
      const times = slow.filter((s) => s.kind === kind).map((s) => s.closedAt! - s.openedAt);
      return [Math.min(...times), Math.max(...times)];
    };
    // Not before the timeout (a cut from elsewhere would prove nothing), and not much after it.
    const [headersMin, headersMax] = heldFor('headers');
    expect(headersMin).toBeGreaterThanOrEqual(HEADERS_MS - 50);
    expect(headersMax).toBeLessThan(HEADERS_MS + CHECK_MS + SLACK_MS);
    const [bodyMin, bodyMax] = heldFor('body');
    expect(bodyMin).toBeGreaterThanOrEqual(REQUEST_MS - 50);
    expect(bodyMax).toBeLessThan(REQUEST_MS + CHECK_MS + SLACK_MS);
    const [idleMin, idleMax] = heldFor('idle');
    expect(idleMin).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 50);
    expect(idleMax).toBeLessThan(KEEP_ALIVE_MS + CHECK_MS + SLACK_MS);

    // Bodies are read whole before the upstream is called, so an unfinished one never held an upstream.
    expect(eventsPeak).toBe(0);
  }, 20_000);

  it('never opens more than the cap of connections to an upstream', async () => {
    const client = new Agent({ connections: 64 });
    const statuses = await Promise.all(
      Array.from({ length: 64 }, async () => {
        const res = await request(`http://127.0.0.1:${port}/api/events/x/slow?ms=100`, {
          dispatcher: client,
        });
        await res.body.text();
        return res.statusCode;
      }),
    );
    await client.close();
    expect(statuses).toEqual(Array(64).fill(200));
    expect(eventsPeak).toBeGreaterThan(1);
    expect(eventsPeak).toBeLessThanOrEqual(MAX_UPSTREAM_CONNECTIONS);
  });
});
