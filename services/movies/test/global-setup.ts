import { fileURLToPath } from 'node:url';
import { migrate } from '@cinemaabyss/postgres';
import { migrateSchema } from '../src/schema.js';
import { moviesDatabaseUrl, silentLog } from './helpers.js';

/**
 * Brings both databases up to date with the runners the stack uses: the movies database (the service's own)
 * and the monolith's, whose app some tests run as the owner of the writes.
 */
export default async function setup() {
  await migrateSchema(moviesDatabaseUrl, silentLog);
  const monolithUrl =
    process.env.DATABASE_URL ?? 'postgres://cinemaabyss:cinemaabyss@127.0.0.1:5432/cinemaabyss';
  const directory = fileURLToPath(new URL('../../monolith/migrations', import.meta.url));
  await migrate({ databaseUrl: monolithUrl, directory, log: silentLog });
}
