import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kafkaClient,
  messageCounts,
  recentIds,
  samples,
  startApp,
  type TestApp,
  testConfig,
  waitFor,
  waitUntilReady,
} from './helpers.js';

// A broker of this file's own, on other ports and in a temporary state dir, so stopping it never
// disturbs the shared broker on 9092 that the other tests use.
const kafkaSh = fileURLToPath(new URL('../../../tools/kafka/kafka.sh', import.meta.url));
const publishTimeoutMs = 2_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('events service while the broker goes away and comes back', () => {
  let env: NodeJS.ProcessEnv;
  let stateDir: string;
  let service: TestApp;
  let port: number;
  const acknowledged: string[] = [];

  const broker = async (command: 'start' | 'stop') => {
    await promisify(execFile)('bash', [kafkaSh, command], { env, timeout: 120_000 });
  };

  const post = async (i: number) => {
    const started = performance.now();
    const res = await service.app.inject({
      method: 'POST',
      url: '/api/events/payment',
      payload: { ...samples.payment, payment_id: i },
    });
    if (res.statusCode === 201) acknowledged.push(res.json().event.id);
    return { status: res.statusCode, ms: performance.now() - started, body: res.json() };
  };

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'events-outage-kafka-'));
    port = await freePort();
    env = {
      ...process.env,
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(await freePort()),
      KAFKA_STATE_DIR: stateDir,
    };
    service = await startApp(
      testConfig({
        KAFKA_BROKERS: `127.0.0.1:${port}`,
        PUBLISH_TIMEOUT_MS: String(publishTimeoutMs),
        RECENT_EVENTS_CAPACITY: '1000',
      }),
    );
  });

  afterAll(async () => {
    await service?.app.close();
    if (env) await broker('stop');
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('starts without a broker: alive, not ready, and POSTs fail fast with 503', async () => {
    expect((await service.app.inject('/api/events/health')).json()).toEqual({ status: true });
    expect((await service.app.inject('/api/events/ready')).statusCode).toBe(503);
    const attempt = await post(1);
    expect(attempt.status).toBe(503);
    expect(attempt.body.error).toMatch(/Kafka unavailable/);
    expect(attempt.ms).toBeLessThan(publishTimeoutMs + 1_000);
    const metrics = (await service.app.inject('/metrics')).body.split('\n');
    expect(metrics).toEqual(
      expect.arrayContaining([
        'events_failed_total{type="payment"} 1',
        'events_requests_total{route="/api/events/payment",method="POST",status_class="5xx"} 1',
        'events_requests_total{route="/api/events/ready",method="GET",status_class="5xx"} 1',
      ]),
    );
  });

  it('connects by itself once the broker is up, then publishes and consumes', async () => {
    await broker('start');
    await waitUntilReady(service.app, 60_000);
    for (let i = 0; i < 20; i++) expect((await post(100 + i)).status).toBe(201);
    await waitFor('the first 20 events consumed', async () => {
      const seen = await recentIds(service.app, 1000);
      return acknowledged.every((id) => seen.has(id));
    });
  }, 90_000);

  it('answers 503 within the bound while the broker is down, and loses nothing acknowledged after it returns', async () => {
    await broker('stop');
    const during = await Promise.all([post(200), post(201), post(202)]);
    for (const attempt of during) {
      expect(attempt.status).toBe(503);
      expect(attempt.ms).toBeLessThan(publishTimeoutMs + 1_000);
    }
    // Now known to be disconnected: refused at once, without waiting for the bound.
    const next = await post(203);
    expect(next.status).toBe(503);
    expect((await service.app.inject('/api/events/ready')).statusCode).toBe(503);

    await broker('start');
    await waitUntilReady(service.app, 60_000);
    for (let i = 0; i < 20; i++) expect((await post(300 + i)).status).toBe(201);
    expect(acknowledged).toHaveLength(40);

    const missing = await waitFor(
      'every acknowledged event consumed after the restart',
      async () => {
        const seen = await recentIds(service.app, 1000);
        const notYet = acknowledged.filter((id) => !seen.has(id));
        return notYet.length === 0 ? notYet : undefined;
      },
      60_000,
    );
    expect(missing).toEqual([]);
  }, 180_000);

  it('says the outcome is unknown, with the event id, when the broker does not answer in time; a retry with the same key gets that event, once', async () => {
    const kafka = kafkaClient([`127.0.0.1:${port}`]);
    const topic = service.config.PAYMENT_EVENTS_TOPIC;
    const before = (await messageCounts(kafka, [topic]))[topic];
    const key = randomUUID();
    const payload = { ...samples.payment, payment_id: 900 };
    const send = () =>
      service.app.inject({
        method: 'POST',
        url: '/api/events/payment',
        payload,
        headers: { 'idempotency-key': key },
      });
    // Frozen, not stopped: the connection stays open and the Produce request unanswered until it thaws.
    const pid = Number(await readFile(join(stateDir, 'kafka.pid'), 'utf8'));
    process.kill(pid, 'SIGSTOP');
    let timedOut: Awaited<ReturnType<typeof send>>;
    const started = performance.now();
    try {
      timedOut = await send();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(performance.now() - started).toBeLessThan(publishTimeoutMs + 1_000);
    expect(timedOut.statusCode).toBe(503);
    const unknown = timedOut.json();
    expect(unknown).toMatchObject({ outcome: 'unknown', event_id: expect.any(String) });
    expect(unknown.error).toMatch(new RegExp(`^outcome unknown: .*${unknown.event_id}`));
    expect(unknown.error).not.toMatch(/not published/);

    await waitUntilReady(service.app, 60_000);
    const retried = await waitFor('the retry to get the event', async () => {
      const res = await send();
      return res.statusCode === 201 && res;
    });
    expect(retried.json().event.id).toBe(unknown.event_id);
    expect((await messageCounts(kafka, [topic]))[topic]).toBe((before ?? 0) + 1);
  }, 90_000);
});
