import { Readable } from 'node:stream';
import { loadConfig, type ServiceMetrics } from '@cinemaabyss/service-kit';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDatabase, type Database } from './database.js';
import type { JsonArrayLimits } from './json-array.js';
import { databaseEnv } from './service.js';

// Against the real PostgreSQL (the stack's, or DATABASE_URL): the rows come from generate_series, no table.
const { DATABASE_URL } = loadConfig(z.object(databaseEnv));
const silentLog = { info() {}, warn() {} };
const opened: Database[] = [];

// Limits small enough that a few dozen rows take every path: several batches, and a stream.
const tiny: Partial<JsonArrayLimits> = { bufferChars: 200, firstBatchRows: 2, batchChars: 300 };

function database(jsonArrayLimits: Partial<JsonArrayLimits> = tiny) {
  const metrics: ServiceMetrics = { prefix: 'test', registry: new Registry() };
  const db = createDatabase(DATABASE_URL, silentLog, { max: 1, metrics, jsonArrayLimits });
  opened.push(db);
  return { db, metrics };
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.close()));
});

// Text that JSON must escape or that is more than one UTF-16 unit, in rows of every length up to 60; read
// by id as a list query is (the last two parameters: the id after which a batch starts, and its size).
const rowsText = `SELECT i AS id, repeat(E'é"\\\\\\n\\t🎬 x', i % 7) AS text, i % 3 = 0 AS flag
                    FROM generate_series(1, $1::integer) AS i
                   WHERE $2::integer IS NULL OR i > $2 ORDER BY i LIMIT $3`;
const rowsQuery = (count: number) => ({ text: rowsText, values: [count] });
type Row = { id: number; text: string };

async function text(answer: string | Readable): Promise<string> {
  if (typeof answer === 'string') return answer;
  let all = '';
  for await (const chunk of answer) all += String(chunk);
  return all;
}

/** True when the pool's connection has no cursor open and runs each statement in a transaction of its own. */
async function sessionIsClean(db: Database): Promise<boolean> {
  const { rows } = await db.query<{ clean: boolean }>(
    'SELECT NOT EXISTS (SELECT FROM pg_cursors) AND transaction_timestamp() = statement_timestamp() AS clean',
  );
  return rows[0]?.clean === true;
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('jsonArray', () => {
  it.each([0, 1, 2, 3, 7, 60])(
    'writes %i rows exactly as JSON.stringify writes the whole list',
    async (count) => {
      const { db } = database();
      const query = rowsQuery(count);
      const toItem = (row: Row) => ({ ...row, id: -row.id });
      const { rows } = await db.query<Row>(rowsText, [count, null, count + 1]);
      expect(await text(await db.jsonArray({ ...query, toItem }))).toBe(JSON.stringify(rows.map(toItem)));
      expect(await text(await db.jsonArray(query))).toBe(JSON.stringify(rows));
    },
  );

  it('cuts a batch of rows bigger than it was sized for and goes on after the last row sent', async () => {
    // A first batch of 1000 rows where 3000 characters of JSON were meant: cut after about 20, the rest in
    // batches of that size, and not a row lost or repeated.
    const { db } = database({ bufferChars: 500, firstBatchRows: 1000, batchChars: 3000 });
    const query = {
      text: `SELECT i AS id, repeat('y', 250) AS text FROM generate_series(1, 300) AS i
              WHERE $1::integer IS NULL OR i > $1 ORDER BY i LIMIT $2`,
    };
    const { rows } = await db.query<Row>(query.text, [null, 301]);
    expect(await text(await db.jsonArray<Row>(query))).toBe(JSON.stringify(rows));
  });

  it('answers a list that ends within the buffer whole, a longer one as a stream', async () => {
    const { db } = database({ ...tiny, bufferChars: 10_000 });
    expect(typeof (await db.jsonArray(rowsQuery(10)))).toBe('string');
    const long = await db.jsonArray(rowsQuery(200));
    expect(long).toBeInstanceOf(Readable);
    expect(JSON.parse(await text(long))).toHaveLength(200);
  });

  it('reads the next batch only when its reader wants more', async () => {
    const { db } = database();
    let converted = 0;
    const stream = (await db.jsonArray({
      ...rowsQuery(10_000),
      toItem: (row) => {
        converted++;
        return row;
      },
    })) as Readable;
    const readSoFar = converted;
    expect(readSoFar).toBeLessThan(100);
    // Taking chunk after chunk reads on; nothing is read that was not asked for.
    for (let i = 0; i < 5; i++) {
      expect(stream.read()).not.toBeNull();
      await until(() => stream.readableLength > 0, 'the next batch');
    }
    expect(converted).toBeGreaterThan(readSoFar);
    expect(converted).toBeLessThan(1000);
    stream.destroy();
  });

  it('holds the server back within a batch while the reader is behind, whatever its size', async () => {
    const { db } = database({ bufferChars: 1000, firstBatchRows: 30_000 });
    let converted = 0;
    const stream = (await db.jsonArray({
      text: `SELECT i AS id, repeat('x', 200) AS text FROM generate_series(1, 30000) AS i
              WHERE $1::integer IS NULL OR i > $1 ORDER BY i LIMIT $2`,
      toItem: (row) => {
        converted++;
        return row;
      },
    })) as Readable;
    // The first batch asked for every row (7 MB of JSON); what arrived before the socket was paused is a
    // socket read's worth.
    expect(converted).toBeLessThan(5_000);
    expect(JSON.parse(await text(stream))).toHaveLength(30_000);
  });

  it('hands the connection back, nothing left open on it, when the reader goes away part way', async () => {
    const { db } = database();
    const stream = (await db.jsonArray(rowsQuery(10_000))) as Readable;
    expect(stream.read()).not.toBeNull();
    expect(db.pool.totalCount - db.pool.idleCount).toBe(1);
    stream.destroy();
    await until(() => db.pool.idleCount === db.pool.totalCount, 'the connection back in the pool');
    // Whether it was reused (between batches) or replaced (during one): no cursor, no transaction left.
    expect(await sessionIsClean(db)).toBe(true);
  });

  it('cuts off a reader that stops reading, so it cannot keep the connection', async () => {
    const { db } = database({ ...tiny, stallTimeoutMs: 100 });
    const stream = (await db.jsonArray(rowsQuery(10_000))) as Readable;
    const failed = new Promise<Error>((resolve) => stream.once('error', resolve));
    expect(stream.read()).not.toBeNull();
    expect((await failed).message).toMatch(/read nothing for 100 ms/);
    await until(() => db.pool.idleCount === db.pool.totalCount, 'the connection back in the pool');
    expect(await sessionIsClean(db)).toBe(true);
  });

  it('fails the stream, not with a valid shorter list, when the database goes away part way', async () => {
    const { db, metrics } = database();
    const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const stream = (await db.jsonArray(rowsQuery(10_000))) as Readable; // on that one connection
    let received = String(stream.read());
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
    } finally {
      await admin.end();
    }
    const error = await new Promise<Error>((resolve) => {
      stream.on('data', (chunk) => {
        received += String(chunk);
      });
      stream.once('error', resolve);
    });
    expect(error.message).toMatch(/terminat|connection error/i);
    expect(received.startsWith('[{"id":1,')).toBe(true);
    expect(() => JSON.parse(received)).toThrow();
    await until(() => db.pool.totalCount === 0, 'the broken connection discarded');
    expect(await metrics.registry.getSingleMetricAsString('test_db_query_errors_total')).toContain(
      'test_db_query_errors_total{cause="unavailable"} 1',
    );
    expect((await db.query('SELECT 1')).rowCount).toBe(1);
  });
});
