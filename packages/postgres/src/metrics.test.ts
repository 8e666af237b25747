import { HttpError, loadConfig, type ServiceMetrics } from '@cinemaabyss/service-kit';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDatabase, type Database, type DatabaseOptions } from './database.js';
import { databaseEnv } from './service.js';

// Against the real PostgreSQL (the stack's, or DATABASE_URL): nothing is written, no table is needed.
const { DATABASE_URL } = loadConfig(z.object(databaseEnv));
const silentLog = { info() {}, warn() {} };
const opened: Database[] = [];

function instrumented(url: string, options: DatabaseOptions = {}) {
  const metrics: ServiceMetrics = { prefix: 'test', registry: new Registry() };
  const db = createDatabase(url, silentLog, { ...options, metrics });
  opened.push(db);
  return { db, scrape: async () => (await metrics.registry.metrics()).split('\n') };
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.close()));
});

describe('database metrics', () => {
  it('reads the pool at each scrape: open, idle and queued for a connection', async () => {
    const { db, scrape } = instrumented(DATABASE_URL, { max: 1 });
    expect(await scrape()).toContain('test_db_pool_connections{state="total"} 0');

    const held = await db.pool.connect();
    const queued = db.query('SELECT 1');
    expect(await scrape()).toEqual(
      expect.arrayContaining([
        'test_db_pool_connections{state="total"} 1',
        'test_db_pool_connections{state="idle"} 0',
        'test_db_pool_connections{state="waiting"} 1',
      ]),
    );
    held.release();
    await queued;
    expect(await scrape()).toEqual(
      expect.arrayContaining([
        'test_db_pool_connections{state="total"} 1',
        'test_db_pool_connections{state="idle"} 1',
        'test_db_pool_connections{state="waiting"} 0',
      ]),
    );
  });

  it('counts failed queries by cause, each from zero', async () => {
    const { db, scrape } = instrumented(DATABASE_URL, { statementTimeoutMs: 50 });
    expect(await scrape()).toEqual(
      expect.arrayContaining(
        ['unavailable', 'timeout', 'rejected'].map(
          (cause) => `test_db_query_errors_total{cause="${cause}"} 0`,
        ),
      ),
    );

    await expect(db.query('SELECT * FROM no_such_table_for_metrics')).rejects.toMatchObject({
      code: '42P01',
    });
    await expect(db.query('SELECT pg_sleep(30)')).rejects.toMatchObject({ statusCode: 504 });
    // The caller's own error inside a transaction is not the database's.
    await expect(
      db.transaction(async () => {
        throw new HttpError(404, 'user 1 not found');
      }),
    ).rejects.toMatchObject({ statusCode: 404 });
    expect(await scrape()).toEqual(
      expect.arrayContaining([
        'test_db_query_errors_total{cause="unavailable"} 0',
        'test_db_query_errors_total{cause="timeout"} 1',
        'test_db_query_errors_total{cause="rejected"} 1',
      ]),
    );
  });

  it('counts a database nobody answers for as unavailable, readiness probes included', async () => {
    const closed = new URL(DATABASE_URL);
    closed.hostname = '127.0.0.1';
    closed.port = '1';
    const { db, scrape } = instrumented(closed.href);
    await expect(db.query('SELECT 1')).rejects.toMatchObject({ statusCode: 503 });
    expect(await db.isReachable()).toBe(false);
    expect(await scrape()).toContain('test_db_query_errors_total{cause="unavailable"} 2');
  });
});
