import { fileURLToPath } from 'node:url';
import { type Log, migrate } from '@cinemaabyss/postgres';

/** The movies database's versioned SQL files, next to src/ and dist/ alike. */
export const migrationsDirectory = fileURLToPath(new URL('../migrations', import.meta.url));

/** Brings the movies database to the latest schema; safe to run concurrently and repeatedly. */
export function migrateSchema(databaseUrl: string, log: Log, schema?: string): Promise<string[]> {
  return migrate({ databaseUrl, directory: migrationsDirectory, log, schema });
}
