import { request } from 'node:http';
import { migrate } from '@cinemaabyss/postgres';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { migrationsDirectory } from '../src/schema.js';
import { silentLog, testConfig, unique } from './helpers.js';

// Lists longer than the buffer go out chunked, straight from the cursor, through a real socket: a schema of
// its own with only 2000 movies of 5 KB (a 14 MB list, more than the socket buffers hold), and an
// application_name to find the app's connections.
const { DATABASE_URL } = testConfig();
const schema = `list_streaming_${unique()}`;
const applicationName = `monolith_${schema}`;
const admin = new pg.Client({ connectionString: DATABASE_URL });
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await migrate({ databaseUrl: DATABASE_URL, directory: migrationsDirectory, log: silentLog, schema });
  await admin.query(`DELETE FROM ${schema}.movie_genres`);
  await admin.query(`DELETE FROM ${schema}.movies`);
  await admin.query(
    `INSERT INTO ${schema}.movies (title, description, rating)
     SELECT 'Long ' || i, repeat('ab"c\\', 1000), 1 FROM generate_series(1, 2000) AS i`,
  );
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  url.searchParams.set('application_name', applicationName);
  app = await buildApp(testConfig({ DATABASE_URL: url.href }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as { port: number };
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await app?.close();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

async function until(check: () => Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Connections of the app's pool that are lent out (total - idle), from its own /metrics. */
async function lentConnections(): Promise<number> {
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const gauge = (state: string) =>
    Number(new RegExp(`^monolith_db_pool_connections\\{state="${state}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
  return gauge('total') - gauge('idle');
}

/**
 * A GET of the list; at its first chunk, reading pauses until `atFirstChunk` is done (the server is then
 * held back by the full socket), unless it stopped the request. Resolves with how the answer ended.
 */
function getList(atFirstChunk: (stop: () => void) => Promise<void> = async () => {}) {
  return new Promise<{ headers: Record<string, unknown>; body: string; complete: boolean }>(
    (resolve, reject) => {
      const req = request(`${base}/api/movies`, (res) => {
        let body = '';
        res.once('data', () => {
          res.pause();
          void atFirstChunk(() => req.destroy()).then(() => res.resume());
        });
        res.on('data', (chunk: Buffer) => {
          body += String(chunk);
        });
        // `complete` is false when the connection closed before the chunked terminator.
        res.on('close', () => resolve({ headers: res.headers, body, complete: res.complete }));
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      req.end();
    },
  );
}

describe('a list streamed to a real client', () => {
  it('arrives chunked, the same bytes as the whole list, and hands its connection back', async () => {
    const answer = await getList();
    expect(answer.complete).toBe(true);
    expect(answer.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'transfer-encoding': 'chunked',
    });
    expect(answer.headers['content-length']).toBeUndefined();
    const { rows } = await admin.query(
      `SELECT id, title, description, rating, '{}'::text[] AS genres FROM ${schema}.movies ORDER BY id`,
    );
    expect(answer.body).toBe(JSON.stringify(rows));
    await until(async () => (await lentConnections()) === 0, 'the connection back in the pool');
  });

  it('ends the transaction and hands the connection back when the client leaves part way', async () => {
    const answer = await getList(async (stop) => stop());
    expect(answer.complete).toBe(false);
    await until(async () => (await lentConnections()) === 0, 'the connection back in the pool');
    // A connection closed with a batch in flight leaves its backend busy until PostgreSQL notices.
    await until(async () => {
      const { rows } = await admin.query(
        "SELECT count(*)::int AS open FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'",
        [applicationName],
      );
      return rows[0].open === 0;
    }, 'no statement or transaction of the list left open');
    expect((await fetch(`${base}/api/users?id=1`)).status).toBe(200);
  });

  it('cuts the answer, detectably, when the database goes away part way', async () => {
    const answer = await getList(async () => {
      const { rows } = await admin.query(
        'SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1',
        [applicationName],
      );
      expect(rows).toEqual([{ done: true }]);
    });
    // No chunked terminator and no closing bracket: neither HTTP nor JSON can mistake it for a whole list.
    expect(answer.complete).toBe(false);
    expect(answer.body.startsWith('[{"id":')).toBe(true);
    expect(() => JSON.parse(answer.body)).toThrow();
    // The service stays up and answers again on a fresh connection.
    expect(JSON.parse(await (await fetch(`${base}/api/movies`)).text())).toHaveLength(2000);
  });
});
