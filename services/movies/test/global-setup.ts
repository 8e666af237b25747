import { fileURLToPath } from 'node:url';
import { migrate } from '@cinemaabyss/postgres';
import { loadConfig } from '@cinemaabyss/service-kit';
import { configSchema } from '../src/config.js';

/**
 * The movies service never migrates: the schema belongs to the monolith. Its tests apply the monolith's
 * migrations (the same runner and files the stack uses) so they also work on an empty database.
 */
export default async function setup() {
  const { DATABASE_URL } = loadConfig(configSchema);
  const directory = fileURLToPath(new URL('../../monolith/migrations', import.meta.url));
  await migrate({ databaseUrl: DATABASE_URL, directory, log: { info() {}, warn() {} } });
}
