import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { policyFor, startUpstream, testConfig, type Upstream, uniqueFlag } from '../helpers.js';

const ANSWER = '{"error":"the upstream takes at most 1 KiB"}';

/**
 * An upstream with a smaller body limit than the gateway's that is as blunt as a server can be: it answers
 * 413 as soon as the request's first bytes arrive and destroys the socket with the body unread (a reset).
 */
async function bluntUpstream(): Promise<{ url: string; server: Server; requests: () => number }> {
  let requests = 0;
  const server = createServer((socket) => {
    socket.once('data', () => {
      requests++;
      socket.write(
        'HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\n' +
          `content-length: ${ANSWER.length}\r\nconnection: close\r\n\r\n${ANSWER}`,
        () => socket.destroy(),
      );
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    requests: () => requests,
  };
}

/** POSTs `chunks` × 16 KiB, one chunk every few ms, chunked or with a Content-Length; resolves the answer. */
function dripPost(
  url: string,
  chunks: number,
  withLength: boolean,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = withLength ? { 'content-length': String(chunks * 16_384) } : {};
    const req = request(url, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    let sent = 0;
    const next = () => {
      if (sent++ === chunks) req.end();
      // The client is told only once it has its answer; writing on after it is not an error of the test.
      else if (!req.destroyed) req.write(Buffer.alloc(16_384, 'a'), () => setTimeout(next, 2));
    };
    next();
  });
}

describe('an upstream that answers 413 before it has read the body, and closes', () => {
  let monolith: Awaited<ReturnType<typeof bluntUpstream>>;
  let movies: Upstream;
  let events: Upstream;
  let app: FastifyInstance;
  let address: string;

  beforeAll(async () => {
    [monolith, movies, events] = await Promise.all([
      bluntUpstream(),
      startUpstream('movies'),
      startUpstream('events'),
    ]);
    app = await buildApp(testConfig(), {
      policy: policyFor({ monolith: monolith.url, movies: movies.url, events: events.url }, uniqueFlag()),
    });
    address = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([
      new Promise((resolve) => monolith.server.close(resolve)),
      movies.close(),
      events.close(),
    ]);
  });

  const fiveHundreds = async () =>
    (await app.inject('/metrics')).body.split('\n').filter((line) => /status_class="5xx"/.test(line));

  it('passes the 413 on for whole bodies of any size up to the gateway limit', async () => {
    for (const size of [2_000, 100_000, 1_000_000, 1_048_576]) {
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${address}/api/users`, { method: 'POST', body: 'a'.repeat(size) });
        expect({ size, status: res.status, body: await res.text() }).toEqual({
          size,
          status: 413,
          body: ANSWER,
        });
      }
    }
    expect(await fiveHundreds()).toEqual([]);
  });

  it('passes the 413 on while the client is still sending, chunked or with a length', async () => {
    const before = monolith.requests();
    for (const withLength of [false, true]) {
      for (let i = 0; i < 5; i++) {
        expect(await dripPost(`${address}/api/users`, 40, withLength)).toEqual({ status: 413, body: ANSWER });
      }
    }
    expect(monolith.requests() - before).toBe(10);
    expect(await fiveHundreds()).toEqual([]);
  });

  it('passes the 413 on to curl sending a large body after 100 Continue', async () => {
    const file = join(tmpdir(), `early-answer-${process.pid}.bin`);
    writeFileSync(file, Buffer.alloc(900_000, 'a'));
    for (let i = 0; i < 5; i++) {
      const { stdout } = await promisify(execFile)(
        'curl',
        [
          '-sS',
          '-H',
          'Expect: 100-continue',
          '-w',
          '\n%{http_code}',
          '--data-binary',
          `@${file}`,
          `${address}/api/users`,
        ],
        { encoding: 'utf8' },
      );
      expect(stdout).toBe(`${ANSWER}\n413`);
    }
  });
});
