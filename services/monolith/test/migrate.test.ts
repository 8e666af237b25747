import { readFileSync } from 'node:fs';
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
    expect(runs.map((applied) => applied.length).sort()).toEqual([0, 0, 2]);
    expect(runs.flat()).toEqual(['001.do.create-tables.sql', '002.do.seed.sql']);
    const { rows } = await client.query(
      `SELECT version::int AS version FROM ${schema}.schemaversion WHERE version > 0 ORDER BY version`,
    );
    expect(rows.map((row) => row.version)).toEqual([1, 2]);
  });

  it('seed users, movies with genres, payments and subscriptions', async () => {
    expect(await count('users')).toBe(5);
    expect(await count('movies')).toBe(8);
    expect(await count('movie_genres')).toBeGreaterThan(8);
    expect(await count('payments')).toBe(5);
    expect(await count('subscriptions')).toBe(4);
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
