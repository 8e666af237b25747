import { basename, join } from 'node:path';
import { StartupError } from '@cinemaabyss/service-kit';
import pg from 'pg';
import Postgrator from 'postgrator';
import { describeTarget, type Log, retryUntilReachable } from './database.js';

export interface MigrateOptions {
  databaseUrl: string;
  /** Folder of postgrator files: `001.do.create-tables.sql`, ... */
  directory: string;
  log: Log;
  /** Schema the tables live in; by default the connection's own (its search_path), usually `public`. */
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
  schema: givenSchema,
}: MigrateOptions): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // The schema the service will read (DATABASE_URL may set search_path), so both see the same tables.
    const schema = givenSchema ?? (await currentSchema(client));
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

async function currentSchema(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
  const schema = rows[0]?.schema;
  if (!schema) throw new StartupError('the search_path of DATABASE_URL names no existing schema to migrate');
  return schema;
}

/**
 * The body of a service's `node dist/migrate.js`: waits until the database answers (as the service does at
 * start), applies what is pending with `apply`, and logs what it did. Errors are the caller's to print.
 */
export async function migrateWhenReachable(
  { databaseUrl, connectAttempts, log }: { databaseUrl: string; connectAttempts: number; log: Log },
  apply: (databaseUrl: string, log: Log) => Promise<string[]>,
): Promise<string[]> {
  const target = describeTarget(databaseUrl);
  await retryUntilReachable(
    async () => {
      const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3000 });
      await client.connect();
      await client.end();
    },
    target,
    log,
    { attempts: connectAttempts, initialDelayMs: 250, maxDelayMs: 5000 },
  );
  const applied = await apply(databaseUrl, log);
  log.info(
    { applied },
    applied.length ? `applied ${applied.length} migration(s) to ${target}` : `${target} is up to date`,
  );
  return applied;
}
