import { fileURLToPath } from 'node:url';
import { type Log, migrate } from '@cinemaabyss/postgres';

/** The versioned SQL files, next to src/ and dist/ alike, so the built service finds them too. */
export const migrationsDirectory = fileURLToPath(new URL('../migrations', import.meta.url));

/** Brings the database to the latest schema and seed; safe to run concurrently and repeatedly. */
export function migrateSchema(databaseUrl: string, log: Log): Promise<string[]> {
  return migrate({ databaseUrl, directory: migrationsDirectory, log });
}
