import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '@cinemaabyss/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsDirectory } from '../src/schema.js';
import { silentLog, testConfig, unique } from './helpers.js';

const { DATABASE_URL } = testConfig();
// A throwaway schema, so this test sees a truly empty database whatever else has run.
const schema = `migrate_test_${unique()}`;
const client = new pg.Client({ connectionString: DATABASE_URL });
const tables = ['users', 'movies', 'genres', 'movie_genres', 'payments', 'subscriptions'];

async function count(table: string): Promise<number> {
  const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${schema}.${table}`);
  return rows[0].n;
}

describe('migrations', () => {
  beforeAll(async () => {
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
  });
  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it('apply once even when several runs start at the same time', async () => {
    const runs = await Promise.all(
      Array.from({ length: 3 }, () =>
        migrate({ databaseUrl: DATABASE_URL, directory: migrationsDirectory, log: silentLog, schema }),
      ),
    );
    // The advisory lock queues the runs: the first applies everything, the others find nothing to do.
    expect(runs.map((applied) => applied.length).sort()).toEqual([0, 0, 4]);
    expect(runs.flat()).toEqual([
      '001.do.create-tables.sql',
      '002.do.seed.sql',
      '003.do.legacy-rules.sql',
      '004.do.capture.sql',
    ]);
    const { rows } = await client.query(
      `SELECT version::int AS version FROM ${schema}.schemaversion WHERE version > 0 ORDER BY version`,
    );
    expect(rows.map((row) => row.version)).toEqual([1, 2, 3, 4]);
  });

  it('seed users, movies with genres, payments and subscriptions', async () => {
    expect(await count('users')).toBe(5);
    expect(await count('movies')).toBe(8);
    expect(await count('movie_genres')).toBeGreaterThan(8);
    expect(await count('payments')).toBe(5);
    expect(await count('subscriptions')).toBe(4);
  });

  it("publish the movie tables of the database's own schema for capture, whatever schema runs later", async () => {
    // The global setup migrated public first; this run's schema found the publication and left it alone.
    expect(await count('cdc_heartbeat')).toBe(0);
    const { rows } = await client.query(
      `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables
       WHERE pubname = 'cinemaabyss_movies' ORDER BY 1`,
    );
    expect(rows.map((row) => row.name)).toEqual([
      'public.cdc_heartbeat',
      'public.genres',
      'public.movie_genres',
      'public.movies',
    ]);
  });

  it('have an idempotent seed: running it again adds nothing', async () => {
    const seed = readFileSync(join(migrationsDirectory, '002.do.seed.sql'), 'utf8');
    const counts = async () => {
      const result: number[] = [];
      for (const table of tables) result.push(await count(table));
      return result;
    };
    const before = await counts();
    await client.query(`SET search_path = ${schema}`);
    await client.query(seed);
    await client.query('SET search_path = public');
    const after = await counts();
    expect(after).toEqual(before);
  });
});

describe("migration 003 (the original system's rules) on a database that already holds data", () => {
  const dataSchema = `migrate_data_${unique()}`;
  const before = mkdtempSync(join(tmpdir(), 'migrations-'));
  const run = (directory: string) =>
    migrate({ databaseUrl: DATABASE_URL, directory, log: silentLog, schema: dataSchema });
  const data = new pg.Client({ connectionString: DATABASE_URL });

  beforeAll(async () => {
    await data.connect();
    await data.query(`CREATE SCHEMA ${dataSchema}`);
    for (const file of ['001.do.create-tables.sql', '002.do.seed.sql']) {
      copyFileSync(join(migrationsDirectory, file), join(before, file));
    }
  });
  afterAll(async () => {
    await data.query(`DROP SCHEMA IF EXISTS ${dataSchema} CASCADE`);
    await data.end();
    rmSync(before, { recursive: true, force: true });
  });

  it('keeps every row and then allows what the original allowed', async () => {
    expect(await run(before)).toEqual(['001.do.create-tables.sql', '002.do.seed.sql']);
    await data.query(`SET search_path = ${dataSchema}`);
    await data.query("INSERT INTO users (username, email) VALUES ('Alice', 'Alice@example.com')");
    const refusedBefore = await data
      .query("INSERT INTO users (username, email) VALUES ('alice', 'alice@example.com')")
      .then(
        () => 'inserted',
        (error: { code: string }) => error.code,
      );
    expect(refusedBefore).toBe('23505');
    const counts =
      'SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM payments)::int AS payments';
    const { rows: kept } = await data.query(counts);

    expect(await run(migrationsDirectory)).toEqual(['003.do.legacy-rules.sql', '004.do.capture.sql']);
    expect((await data.query(counts)).rows).toEqual(kept);
    await data.query("INSERT INTO users (username, email) VALUES ('alice', 'alice@example.com')");
    const duplicate = await data
      .query("INSERT INTO users (username, email) VALUES ('alice', 'other@example.com')")
      .then(
        () => 'inserted',
        (error: { code: string; constraint: string }) => error.constraint,
      );
    expect(duplicate).toBe('users_username_key');
    const { rows } = await data.query("SELECT id FROM users WHERE username = 'alice'");
    await data.query('INSERT INTO payments (user_id, amount) VALUES ($1, 0), ($1, -4.5)', [rows[0].id]);
    await data.query(
      `INSERT INTO subscriptions (user_id, plan_type, start_date, end_date)
       VALUES ($1, 'basic', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')`,
      [rows[0].id],
    );
    const backwards = await data
      .query(
        `INSERT INTO subscriptions (user_id, plan_type, start_date, end_date)
         VALUES ($1, 'basic', '2024-01-02T00:00:00Z', '2024-01-01T00:00:00Z')`,
        [rows[0].id],
      )
      .then(
        () => 'inserted',
        (error: { constraint: string }) => error.constraint,
      );
    expect(backwards).toBe('subscriptions_end_not_before_start');
    await data.query('SET search_path = public');
  });
});
