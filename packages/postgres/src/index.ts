export { int4Id, pgText, queryId } from './columns.js';
export {
  createDatabase,
  type Database,
  type DatabaseOptions,
  describeTarget,
  foreignKeyViolation,
  inTransaction,
  invalidInputError,
  type Log,
  type RetryOptions,
  retryDelay,
  retryUntilReachable,
  unavailableError,
  uniqueViolation,
} from './database.js';
export { type JsonArrayLimits, type JsonArrayQuery, sendJsonArray } from './json-array.js';
export { type MigrateOptions, migrate, migrateWhenReachable } from './migrate.js';
export { databaseEnv, serviceDatabase } from './service.js';
