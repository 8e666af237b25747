import { loadConfig } from '@cinemaabyss/service-kit';
import { configSchema } from '../src/config.js';
import { migrateSchema } from '../src/schema.js';

/** Applies the migrations with the same function the service uses, so the tests work on an empty database. */
export default async function setup() {
  const { DATABASE_URL } = loadConfig(configSchema);
  await migrateSchema(DATABASE_URL, { info() {}, warn() {} });
}
