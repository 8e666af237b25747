import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, serviceMetrics } from '@cinemaabyss/service-kit';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { DataStatus } from '../../src/sync/status/document.js';
import { parityEnv } from '../../src/sync/status/env.js';
import { dataStatus } from '../../src/sync/status/plugin.js';
import { statusKey, verifyChannel } from '../../src/sync/status/publisher.js';
import { movies, type ThrowAwayDatabases, throwAwayDatabases } from './databases.js';

// The plugin as the sync process registers it, against the real PostgreSQL (throw-away schemas) and Redis,
// under a domain of its own (so its key is not the real status), with a stand-in for Connect's REST API.
const N = 300;
const domain = `test-${randomUUID().slice(0, 8)}`;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let dbs: ThrowAwayDatabases;
let app: FastifyInstance;
let redis: Redis;
let connect: Server;
let connectAnswer: { status: number; body: unknown };

const running = {
  status: 200,
  body: { name: 'cinemaabyss-movies', connector: { state: 'RUNNING' }, tasks: [{ id: 0, state: 'RUNNING' }] },
};

beforeAll(async () => {
  dbs = await throwAwayDatabases();
  await dbs.insertSource(movies(N));
  await dbs.insertTarget(movies(N));
  connectAnswer = running;
  connect = createServer((_request, response) =>
    response
      .writeHead(connectAnswer.status, { 'content-type': 'application/json' })
      .end(JSON.stringify(connectAnswer.body)),
  );
  await new Promise<void>((resolve) => connect.listen(0, '127.0.0.1', resolve));
  redis = new Redis(redisUrl);

  const config = loadConfig(z.object(parityEnv), {
    SOURCE_DATABASE_URL: dbs.sourceUrl,
    REDIS_URL: redisUrl,
    CONNECT_URL: `http://127.0.0.1:${(connect.address() as AddressInfo).port}`,
    // Only the first pass runs by itself: any other is on demand.
    PARITY_INTERVAL_MS: '3600000',
    PARITY_RECHECK_MARGIN_MS: '50',
    DATA_STATUS_INTERVAL_MS: '200',
  });
  app = Fastify();
  const metrics = serviceMetrics(app, 'test_sync');
  await app.register(dataStatus, {
    config,
    db: dbs.target(),
    lag: { lagMs: () => 12, lagP99Ms: () => 80 },
    metrics,
    domain,
  });
  await app.ready();
}, 30_000);

afterAll(async () => {
  await app?.close();
  await redis?.del(statusKey(domain));
  redis?.disconnect();
  connect?.closeAllConnections();
  connect?.close();
  await dbs?.drop();
});

/** Polls `check` every 50 ms until it returns a value; fails after `ms` naming what it waited for. */
async function until<T>(check: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const value = await check().catch((error) => {
      last = error;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const published = async (): Promise<DataStatus | undefined> => {
  const text = await redis.get(statusKey(domain));
  return text ? (JSON.parse(text) as DataStatus) : undefined;
};

async function walOfSlot(): Promise<number | null> {
  const { rows } = await dbs.sourceSql(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 AS bytes
       FROM pg_replication_slots WHERE slot_name = 'cinemaabyss_movies'`,
  );
  return rows[0]?.bytes ?? null;
}

describe('the data status in Redis', () => {
  it('has the documented shape, no secret in it, a TTL of 30 s, and is rewritten every interval', async () => {
    const status = await until(
      async () => ((await published())?.parity.state === 'ok' ? published() : undefined),
      'the first pass in the status',
    );
    const wal = await walOfSlot();
    expect(status).toEqual({
      domain,
      writes: 'monolith',
      source: {
        database: new URL(dbs.sourceUrl).pathname.slice(1),
        tables: ['movies', 'genres', 'movie_genres'],
      },
      target: { database: new URL(dbs.targetUrl).pathname.slice(1), table: 'movies' },
      connector: { name: 'cinemaabyss-movies', state: 'RUNNING' },
      lagMs: 12,
      lagP99Ms: 80,
      // The shared server's real slot, when the capture runs there; null without one.
      retainedWalBytes: wal === null ? null : expect.any(Number),
      parity: {
        state: 'ok',
        checkedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        rows: N,
        mismatched: 0,
        missing: 0,
        extra: 0,
        sampleIds: [],
      },
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const text = (await redis.get(statusKey(domain)))!;
    expect(text).not.toMatch(/:\/\/|cinemaabyss_cdc:|movies:movies|password/);
    const ttl = await redis.pttl(statusKey(domain));
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    await until(
      async () => ((await published())!.updatedAt > status.updatedAt ? true : undefined),
      'the status to be rewritten',
    );
  });

  it('starts a full pass when asked on the verify channel, and publishes what it found', async () => {
    await until(
      async () => ((await published())?.parity.state === 'ok' ? true : undefined),
      'the first pass',
    );
    const before = (await published())!.parity.checkedAt!;
    await dbs.targetSql("UPDATE movies SET title = 'Edited in the movies database' WHERE id = 123");
    // PUBLISH answers how many subscribers got it: repeat until the sync process is one of them.
    await until(
      async () =>
        (await redis.publish(verifyChannel(domain), JSON.stringify({ by: 'test' }))) > 0 ? true : undefined,
      'the verify subscription',
    );
    const status = await until(async () => {
      const now = await published();
      return now && now.parity.checkedAt! > before && now.parity.state === 'mismatch' ? now : undefined;
    }, 'the requested pass');
    expect(status.parity).toMatchObject({ rows: N, mismatched: 1, missing: 0, extra: 0, sampleIds: [123] });

    const lines = (await app.inject('/metrics')).body.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        `test_sync_parity_rows{result="equal"} ${N - 1}`,
        'test_sync_parity_rows{result="mismatched"} 1',
        'test_sync_parity_rows{result="missing"} 0',
        'test_sync_parity_rows{result="extra"} 0',
        'test_sync_parity_passes_total{outcome="ok"} 1',
        'test_sync_parity_passes_total{outcome="mismatch"} 1',
        'test_sync_parity_passes_total{outcome="failed"} 0',
        'test_sync_connector_state{connector="cinemaabyss-movies",state="RUNNING"} 1',
        'test_sync_connector_state{connector="cinemaabyss-movies",state="FAILED"} 0',
      ]),
    );
    const lastPass = lines.find((line) => line.startsWith('test_sync_parity_last_pass_timestamp_seconds '));
    expect(Number(lastPass?.split(' ')[1]) * 1000).toBe(Date.parse(status.parity.checkedAt!));
    expect(lines.some((line) => line.startsWith('test_sync_parity_last_pass_duration_seconds '))).toBe(true);
    if ((await walOfSlot()) !== null)
      expect(lines.some((line) => line.startsWith('test_sync_replication_slot_retained_wal_bytes{'))).toBe(
        true,
      );
  });

  it('shows the connector UNKNOWN when Connect does not know it, and RUNNING again when it does', async () => {
    connectAnswer = { status: 404, body: { error_code: 404, message: 'No status found for connector' } };
    await until(
      async () => ((await published())?.connector.state === 'UNKNOWN' ? true : undefined),
      'the connector UNKNOWN',
    );
    connectAnswer = running;
    await until(
      async () => ((await published())?.connector.state === 'RUNNING' ? true : undefined),
      'the connector RUNNING',
    );
  });

  it('keeps measuring without Redis, and closes without waiting for it', async () => {
    const offline = Fastify();
    const metrics = serviceMetrics(offline, 'offline_sync');
    await offline.register(dataStatus, {
      config: loadConfig(z.object(parityEnv), {
        SOURCE_DATABASE_URL: dbs.sourceUrl,
        REDIS_URL: 'redis://127.0.0.1:1',
        CONNECT_URL: `http://127.0.0.1:${(connect.address() as AddressInfo).port}`,
        PARITY_INTERVAL_MS: '3600000',
        DATA_STATUS_INTERVAL_MS: '200',
      }),
      db: dbs.target(),
      lag: { lagMs: () => null, lagP99Ms: () => null },
      metrics,
      domain: `${domain}-offline`,
    });
    await offline.ready();
    try {
      await until(async () => {
        const lines = (await offline.inject('/metrics')).body.split('\n');
        return lines.includes(
          'offline_sync_connector_state{connector="cinemaabyss-movies",state="RUNNING"} 1',
        ) && lines.some((line) => line.startsWith('offline_sync_parity_last_pass_timestamp_seconds '))
          ? true
          : undefined;
      }, 'the connector state and a finished pass in the metrics');
    } finally {
      await offline.close();
    }
    expect(await redis.exists(statusKey(`${domain}-offline`))).toBe(0);
  });
});
