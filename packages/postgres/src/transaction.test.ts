import { loadConfig } from '@cinemaabyss/service-kit';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createDatabase } from './database.js';
import { databaseEnv } from './service.js';

// Against the real PostgreSQL (the stack's, or DATABASE_URL). A server restart kills a leased connection;
// before, its client's unheard 'error' event ended the monolith mid-POST (the data fault suite found it).
const { DATABASE_URL } = loadConfig(z.object(databaseEnv));
const db = createDatabase(DATABASE_URL, { info() {}, warn() {} }, { max: 1 });
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
afterAll(async () => {
  await db.close();
  await admin.end();
});

it('fails a transaction whose connection dies, keeps the process, and serves on a fresh connection', async () => {
  await expect(
    db.transaction(async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
      await client.query('SELECT 1');
    }),
  ).rejects.toThrow();
  // The broken connection was discarded, not handed back: the pool's only slot works again.
  expect(await db.transaction(async (client) => (await client.query('SELECT 1 AS one')).rows)).toEqual([
    { one: 1 },
  ]);
});
