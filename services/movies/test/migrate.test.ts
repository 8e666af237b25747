import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { moviesDatabaseUrl, testConfig, unique } from './helpers.js';

// DB_MIGRATE_ON_START on an empty schema of the movies database, then on the migrated one.
const schema = `migrate_on_start_${unique()}`;
const admin = new pg.Client({ connectionString: moviesDatabaseUrl });
const url = new URL(moviesDatabaseUrl);
url.searchParams.set('options', `-c search_path=${schema}`);

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe('the movies service with DB_MIGRATE_ON_START=true', () => {
  it('starts on an empty database, migrating it, and again on the migrated one', async () => {
    for (const run of ['empty', 'migrated']) {
      const app = await buildApp(testConfig({ DATABASE_URL: url.href, DB_MIGRATE_ON_START: 'true' }));
      await app.ready();
      try {
        const list = await app.inject('/api/movies');
        expect([run, list.statusCode, list.json()]).toEqual([run, 200, []]);
      } finally {
        await app.close();
      }
    }
    const { rows } = await admin.query(`SELECT max(version)::int AS version FROM ${schema}.schemaversion`);
    expect(rows[0].version).toBe(1);
  });
});
