import { basename, join } from 'node:path';
import pg from 'pg';
import Postgrator from 'postgrator';
import type { Log } from './database.js';

export interface MigrateOptions {
  databaseUrl: string;
  /** Folder of postgrator files: `001.do.create-tables.sql`, ... */
  directory: string;
  log: Log;
  /** Schema the tables live in; tests use a throwaway one. */
  schema?: string;
}

/**
 * Applies every pending migration in `directory`. Runs hold a session-level advisory lock for the whole
 * run, so concurrent runs (two replicas starting, a deploy job next to a developer) queue instead of
 * racing on postgrator's version table; a run that finds nothing pending is a no-op.
 * Returns the names of the migrations this run applied.
 */
export async function migrate({
  databaseUrl,
  directory,
  log,
  schema = 'public',
}: MigrateOptions): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`cinemaabyss:migrations:${schema}`]);
    const postgrator = new Postgrator({
      migrationPattern: join(directory, '*.sql'),
      driver: 'pg',
      database: client.database,
      currentSchema: schema,
      schemaTable: `${schema}.schemaversion`,
      execQuery: (sql) => client.query(sql),
    });
    postgrator.on('migration-started', (migration) =>
      log.info(
        { migration: migration.name, version: migration.version },
        `applying migration ${basename(migration.filename)}`,
      ),
    );
    const applied = await postgrator.migrate();
    return applied.map((migration) => basename(migration.filename));
  } finally {
    // Ending the session releases the advisory lock even if the migration failed half way.
    await client.end();
  }
}
