import { randomUUID } from 'node:crypto';
import { type Log, migrate } from '@cinemaabyss/postgres';
import { loadConfig } from '@cinemaabyss/service-kit';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../src/app.js';
import { type Config, configSchema } from '../src/config.js';
import { migrationsDirectory } from '../src/schema.js';

export const silentLog: Log = { info() {}, warn() {} };

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(configSchema, { ...process.env, LOG_LEVEL: 'silent', ...overrides });
}

/** A short random suffix so every test's rows are its own. */
export function unique(): string {
  return randomUUID().replaceAll('-', '').slice(0, 12);
}

/** One app per test file, built like the service builds it and closed after the file. */
export function useApp(): () => FastifyInstance {
  let app: FastifyInstance | undefined;
  beforeAll(async () => {
    app = await buildApp(testConfig());
    await app.ready();
  });
  afterAll(() => app?.close());
  return () => {
    if (!app) throw new Error('the app is built in beforeAll');
    return app;
  };
}

/**
 * Like useApp, on a schema of its own (migrated and seeded, dropped after the file): for rows the shared
 * tables must not keep, such as emails the contract's `format: email` would not match.
 */
export function useIsolatedApp(): () => FastifyInstance {
  const { DATABASE_URL } = testConfig();
  const schema = `isolated_${unique()}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  let app: FastifyInstance | undefined;
  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await migrate({ databaseUrl: DATABASE_URL, directory: migrationsDirectory, log: silentLog, schema });
    const url = new URL(DATABASE_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    app = await buildApp(testConfig({ DATABASE_URL: url.href }));
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });
  return () => {
    if (!app) throw new Error('the app is built in beforeAll');
    return app;
  };
}

export async function call(
  app: FastifyInstance,
  method: InjectOptions['method'],
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
}

export async function createUser(app: FastifyInstance, name = `user_${unique()}`) {
  const res = await call(app, 'POST', '/api/users', { username: name, email: `${name}@example.com` });
  if (res.statusCode !== 201) throw new Error(`creating a user failed: ${res.statusCode} ${res.body}`);
  return res.json() as { id: number; username: string; email: string };
}
