import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { request } from 'undici';
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

const BODY = 1_000;
const UPLOADS = 4;

describe('the budget of buffered request bodies', () => {
  let monolith: Upstream;
  let events: Upstream;
  let app: FastifyInstance;
  let base: string;
  const flag = uniqueFlag();
  const redis = new Redis(REDIS_URL);
  const sockets: Socket[] = [];

  beforeAll(async () => {
    [monolith, events] = await Promise.all([startUpstream('monolith'), startUpstream('events')]);
    app = await buildApp(
      testConfig({
        GATEWAY_MAX_BODY_BYTES: String(BODY),
        GATEWAY_MAX_BUFFERED_BYTES: String(UPLOADS * BODY),
      }),
      { policy: policyFor({ monolith: monolith.url, movies: monolith.url, events: events.url }, flag) },
    );
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await app.close();
    await Promise.all([monolith.close(), events.close()]);
    await redis.del(flagKey(flag), historyKey(flag));
    redis.disconnect();
  });

  const metric = async (name: string) => {
    const text = await (await request(`${base}/metrics`)).body.text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };
  const post = async (body: string) => {
    const res = await request(`${base}/api/events/movie`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };

  /** Whole headers and 10 of the announced bytes: the gateway holds the body's budget while it waits. */
  function slowUpload(): Promise<{ socket: Socket; answer: Promise<string> }> {
    const { port, hostname } = new URL(base);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname);
      sockets.push(socket);
      let text = '';
      const answer = new Promise<string>((done) => {
        socket.on('data', (chunk) => {
          text += chunk;
        });
        socket.on('close', () => done(text));
      });
      socket.on('error', () => {});
      socket.once('connect', () =>
        socket.write(
          `POST /api/events/movie HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY}\r\nConnection: close\r\n\r\n"${'x'.repeat(8)}`,
          () => resolve({ socket, answer }),
        ),
      );
      socket.once('error', reject);
    });
  }

  it('refuses the next body with 503 while slow uploads hold it, serves GETs, and frees it after', async () => {
    const uploads = await Promise.all(Array.from({ length: UPLOADS }, slowUpload));
    await waitFor(
      async () => (await metric('gateway_buffered_request_bytes')) === UPLOADS * BODY,
      2_000,
      'the uploads to take the budget',
    );

    const refused = await post('{"a":1}');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body).error).toContain('GATEWAY_MAX_BUFFERED_BYTES');
    expect(await metric('gateway_body_budget_refusals_total')).toBe(1);

    // A request without a body is not held back by the spent budget.
    const get = await request(`${base}/api/movies?id=1`);
    await get.body.text();
    expect(get.statusCode).toBe(200);

    // Three uploads finish, one client goes away: every byte comes back.
    for (const { socket } of uploads.slice(1)) socket.write(`${'x'.repeat(BODY - 10)}"`);
    uploads[0]!.socket.destroy();
    const answers = await Promise.all(uploads.slice(1).map((u) => u.answer));
    for (const answer of answers) expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    await waitFor(
      async () => (await metric('gateway_buffered_request_bytes')) === 0,
      2_000,
      'the budget to be freed',
    );

    const accepted = await post('{"a":1}');
    expect(accepted.status).toBe(200);
    // Released on a kept-alive connection too, once its answer is sent.
    await waitFor(
      async () => (await metric('gateway_buffered_request_bytes')) === 0,
      2_000,
      'the accepted body to be released',
    );
    expect(await metric('gateway_body_budget_refusals_total')).toBe(1);
  });
});
