import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterCounters } from '../../src/redis/cluster-counters.js';
import { Mirror, type ShadowRequest } from '../../src/shadow/mirror.js';
import { ShadowRecorder, seriesOf } from '../../src/shadow/recorder.js';
import { Shadower } from '../../src/shadow/shadower.js';
import { renderFamilies } from '../../src/telemetry/exposition.js';
import { REDIS_URL, uniqueFlag, waitFor } from '../helpers.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real upstream that counts requests by method and the most it had open at once. */
async function upstream(handle: Handler) {
  const counts = { open: 0, maxOpen: 0, closedConnections: 0, byMethod: new Map<string, number>() };
  const server = createServer((req, res) => {
    counts.byMethod.set(req.method!, (counts.byMethod.get(req.method!) ?? 0) + 1);
    counts.open++;
    counts.maxOpen = Math.max(counts.maxOpen, counts.open);
    res.once('close', () => counts.open--);
    handle(req, res);
  });
  server.on('connection', (socket) => socket.once('close', () => counts.closedConnections++));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  closers.push(close);
  return { origin, counts, close };
}

const closers: Array<() => Promise<unknown> | unknown> = [];
let redis: Redis;
beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await redis.ping();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  redis.disconnect();
});

function setup(options: {
  maxInFlight?: number;
  timeoutMs?: number;
  maxBodyBytes?: number;
  noiseEvery?: number;
  random?: () => number;
  holdMs?: number;
}) {
  const dispatcher = new Agent({ connections: options.maxInFlight ?? 64 });
  const counters = new ClusterCounters(redis);
  const recorder = new ShadowRecorder(redis, counters);
  const mirror = new Mirror({
    dispatcher,
    timeoutMs: options.timeoutMs ?? 1_000,
    maxBodyBytes: options.maxBodyBytes ?? 256 * 1024,
    maxInFlight: options.maxInFlight ?? 64,
  });
  const shadower = new Shadower({
    mirror,
    recorder,
    maxBodyBytes: 256 * 1024,
    noiseEvery: options.noiseEvery ?? 10,
    holdMs: options.holdMs ?? 10_000,
    ...(options.random && { random: options.random }),
  });
  closers.push(() => dispatcher.close());
  return { mirror, recorder, counters, shadower, dispatcher };
}

const json =
  (body: unknown): Handler =>
  (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
const answer = (body: unknown) => ({
  status: 200,
  contentType: 'application/json',
  contentEncoding: undefined,
  body: Buffer.from(JSON.stringify(body)),
});
const input = (flag: string, method: string, chosenOrigin: string, otherOrigin: string, percent = 100) => ({
  flag,
  settings: { percent, ignore: [], since: '2026-01-01T00:00:00.000Z' },
  method,
  url: '/api/movies?id=1',
  headers: { 'x-user-id': 'u1', host: 'gateway.example', 'x-request-id': 'r1' },
  userId: 'u1',
  chosenOrigin,
  otherOrigin,
  chosenIsNew: false,
});
/** One copy through a slot of its own, released when answered. */
const send = (mirror: Mirror, origin: string, request: ShadowRequest) => {
  const slot = mirror.reserve();
  return slot?.fetch(origin, request).finally(slot.release);
};
const metric = (recorder: ShadowRecorder, flag: string, result: string) =>
  Number(
    new RegExp(`flag="${flag}",result="${result}"} (\\d+)`).exec(
      renderFamilies(recorder.metricFamilies()),
    )?.[1] ?? NaN,
  );

describe('mirror (real HTTP upstreams)', () => {
  it('sends the copy with the forwarded headers, marked as a shadow, and reads its answer', async () => {
    const seen: IncomingMessage['headers'][] = [];
    const side = await upstream((req, res) => {
      seen.push(req.headers);
      json({ url: req.url, method: req.method })(req, res);
    });
    const { mirror } = setup({});
    const fetched = await send(mirror, side.origin, {
      method: 'GET',
      path: '/api/movies?id=7',
      headers: { 'x-user-id': 'u9', host: 'gateway.example', 'x-forwarded-for': '10.0.0.1' },
    });
    expect(fetched).toMatchObject({ answer: { status: 200, contentType: 'application/json' } });
    expect(JSON.parse(String((fetched as { answer: { body: Buffer } }).answer.body))).toEqual({
      url: '/api/movies?id=7',
      method: 'GET',
    });
    expect(seen[0]).toMatchObject({ 'x-user-id': 'u9', 'x-forwarded-for': '10.0.0.1', 'x-shadow': '1' });
    expect(seen[0]!.host).toBe(side.origin.slice('http://'.length));
    expect(mirror.inFlight).toBe(0);
  });

  it('never sends more than the cap at once: the excess is dropped, not queued', async () => {
    const held: ServerResponse[] = [];
    const side = await upstream((_req, res) => held.push(res));
    const { mirror } = setup({ maxInFlight: 4, timeoutMs: 10_000 });
    const request = { method: 'GET', path: '/slow', headers: {} } as const;
    const sent = Array.from({ length: 10 }, () => send(mirror, side.origin, request));
    expect(sent.filter((p) => p !== undefined)).toHaveLength(4);
    expect(mirror.inFlight).toBe(4);
    await waitFor(() => held.length === 4, 2_000, 'four requests at the upstream');
    for (const res of held) res.end('{}');
    const results = await Promise.all(sent.filter((p) => p !== undefined));
    expect(results.every((r) => 'answer' in r)).toBe(true);
    expect(mirror.inFlight).toBe(0);
    expect(side.counts.byMethod.get('GET')).toBe(4);
    expect(send(mirror, side.origin, request)).toBeDefined();
  });

  it('counts a hanging shadow side as errors after the timeout, with in-flight never above the cap', async () => {
    const flag = uniqueFlag();
    const chosen = await upstream(json({ id: 1 }));
    const hanging = await upstream(() => {});
    const { shadower, mirror, recorder } = setup({ maxInFlight: 8, timeoutMs: 300 });
    let maxInFlight = 0;
    const started = performance.now();
    for (let i = 0; i < 30; i++) {
      shadower.begin(input(flag, 'GET', chosen.origin, hanging.origin))?.chosen(answer({ id: 1 }));
      maxInFlight = Math.max(maxInFlight, mirror.inFlight);
    }
    // Synchronous: beginning 30 shadowed requests took no time waiting for the hanging side.
    expect(performance.now() - started).toBeLessThan(300);
    expect(maxInFlight).toBe(8);
    // The first shadowed request also probed the chosen side, so 7 copies went to the hanging side.
    await waitFor(() => metric(recorder, flag, 'error') === 7, 3_000, 'seven timed-out shadow copies');
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    expect(metric(recorder, flag, 'dropped')).toBe(23);
    expect(hanging.counts.maxOpen).toBeGreaterThan(0);
    expect(hanging.counts.maxOpen).toBeLessThanOrEqual(7);
    await waitFor(() => mirror.inFlight === 0, 2_000, 'the slots to be released');
  });

  it('skips a body over the bound and releases the connection without reading the rest', async () => {
    const big = Buffer.alloc(1024 * 1024, 'x');
    const side = await upstream((req, res) => {
      if (req.url === '/chunked') {
        res.write(big);
        res.end(big);
      } else if (req.url === '/sized') {
        res.setHeader('content-length', big.length);
        res.end(big);
      } else {
        json({ ok: true })(req, res);
      }
    });
    // One connection: a body that was not released would block the request after it.
    const { mirror } = setup({ maxInFlight: 1, maxBodyBytes: 64 * 1024 });
    const request = (path: string) => send(mirror, side.origin, { method: 'GET', path, headers: {} });
    expect(await request('/sized')).toMatchObject({ failed: 'skipped' });
    expect(await request('/chunked')).toMatchObject({ failed: 'skipped' });
    expect(await request('/small')).toMatchObject({ answer: { status: 200 } });
    expect(side.counts.closedConnections).toBeGreaterThanOrEqual(2);
  });

  it('turns a refused connection into an error, never a throw', async () => {
    const side = await upstream(json({}));
    await side.close();
    const { mirror } = setup({});
    expect(await send(mirror, side.origin, { method: 'GET', path: '/', headers: {} })).toMatchObject({
      failed: 'error',
    });
  });
});

describe('shadower (real HTTP upstreams)', () => {
  it('never shadows writes: POST, PUT, PATCH and DELETE never reach the shadow side', async () => {
    const flag = uniqueFlag();
    const chosen = await upstream(json({}));
    const other = await upstream(json({}));
    const { shadower } = setup({});
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
      expect(shadower.begin(input(flag, method, chosen.origin, other.origin))).toBeUndefined();
    const read = shadower.begin(input(flag, 'HEAD', chosen.origin, other.origin));
    expect(read).toBeDefined();
    read!.chosen({
      status: 200,
      contentType: 'application/json',
      contentEncoding: undefined,
      body: Buffer.alloc(0),
    });
    await waitFor(() => other.counts.byMethod.get('HEAD') === 1, 2_000, 'the HEAD copy');
    expect([...other.counts.byMethod.keys()]).toEqual(['HEAD']);
  });

  it('holds the slot until the chosen answer is compared, and gives it up when none comes', async () => {
    const flag = uniqueFlag();
    const chosen = await upstream(json({}));
    const other = await upstream(json({ a: 1 }));
    const { shadower, mirror, recorder } = setup({ holdMs: 300, noiseEvery: 1_000 });
    shadower.begin(input(flag, 'GET', chosen.origin, other.origin)); // the first one also probes
    const waiting = shadower.begin(input(flag, 'GET', chosen.origin, other.origin))!;
    await waitFor(() => other.counts.byMethod.get('GET') === 2, 2_000, 'both copies answered');
    // Answered, yet held: the answers wait for the chosen ones, under the cap.
    expect(mirror.inFlight).toBe(3);
    waiting.chosen(answer({ a: 2 }));
    await waitFor(() => metric(recorder, flag, 'mismatch') === 1, 2_000, 'the comparison');
    await waitFor(() => mirror.inFlight === 2, 2_000, 'its slot');
    // The first run never gets its chosen answer: after holdMs its slots go, and nothing is counted.
    await waitFor(() => mirror.inFlight === 0, 2_000, 'the abandoned run to let go');
    expect(renderFamilies(recorder.metricFamilies())).toMatch(
      new RegExp(`flag="${flag}",result="match"} 0\n`),
    );
  });

  it('shadows the configured share of requests, none at 0', async () => {
    const flag = uniqueFlag();
    const chosen = await upstream(json({}));
    const other = await upstream(json({}));
    let i = 0;
    const { shadower } = setup({ random: () => (i++ % 100) / 100 });
    let shadowed = 0;
    for (let n = 0; n < 100; n++)
      if (shadower.begin(input(flag, 'GET', chosen.origin, other.origin, 25))) shadowed++;
    expect(shadowed).toBe(25);
    expect(shadower.begin(input(flag, 'GET', chosen.origin, other.origin, 0))).toBeUndefined();
  });

  it('probes the chosen side 1 in noiseEvery and records what differs there as noise', async () => {
    const flag = uniqueFlag();
    let calls = 0;
    const chosen = await upstream(json({}));
    chosen.counts.byMethod.clear();
    const noisy = await upstream((req, res) => json({ id: 1, served_at: `t${calls++}` })(req, res));
    const other = await upstream(json({ id: 1, served_at: 'x' }));
    const { shadower, counters, recorder } = setup({ noiseEvery: 4 });
    for (let n = 0; n < 12; n++)
      shadower
        .begin(input(flag, 'GET', noisy.origin, other.origin))
        ?.chosen(answer({ id: 1, served_at: 'mine' }));
    await waitFor(
      () => metric(recorder, flag, 'mismatch') + metric(recorder, flag, 'match') === 12,
      5_000,
      'twelve comparisons',
    );
    expect(noisy.counts.byMethod.get('GET')).toBe(3);
    expect(other.counts.byMethod.get('GET')).toBe(12);
    await counters.flush();
    const fields = await counters.read(
      seriesOf(flag, '2026-01-01T00:00:00.000Z'),
      Date.now() - 60_000,
      Date.now() + 1_000,
    );
    expect(fields).toMatchObject({ compared: 12, probes: 3, 'noise:$.served_at': 3, 'sig:$.served_at': 12 });
  });
});
