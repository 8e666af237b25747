import { ConfigError, loadConfig } from '@cinemaabyss/service-kit';
import { describe, expect, it } from 'vitest';
import { configSchema } from './config.js';
import { routeTableFromConfig, routeTableSchema } from './routes.js';

describe('gateway configuration', () => {
  it('refuses MOVIES_MIGRATION_PERCENT=150 with a message naming the variable and the value', () => {
    expect(() => loadConfig(configSchema, { MOVIES_MIGRATION_PERCENT: '150' })).toThrow(ConfigError);
    expect(() => loadConfig(configSchema, { MOVIES_MIGRATION_PERCENT: '150' })).toThrow(
      'MOVIES_MIGRATION_PERCENT: must be an integer from 0 to 100 (got "150")',
    );
  });

  it('refuses a short admin token and a non-http upstream', () => {
    const load = () => loadConfig(configSchema, { ADMIN_TOKEN: 'short', MONOLITH_URL: 'ftp://x' });
    expect(load).toThrow('ADMIN_TOKEN: must be at least 16 characters (got "short")');
    expect(load).toThrow('MONOLITH_URL: must be an http(s):// URL (got "ftp://x")');
  });

  it('builds the route table with the env seed for the movies flag', () => {
    const table = routeTableFromConfig(
      loadConfig(configSchema, { GRADUAL_MIGRATION: 'false', MOVIES_MIGRATION_PERCENT: '30' }),
    );
    expect(table.flagSeeds).toEqual({ movies: { enabled: false, percent: 30 } });
    expect(table.routes.map((r) => [r.prefix, r.upstream, r.migration?.to])).toEqual([
      ['/api/movies', 'monolith', 'movies'],
      ['/api/events', 'events', undefined],
      ['/api', 'monolith', undefined],
    ]);
  });

  it('rejects a route table naming an unknown upstream or an unseeded flag', () => {
    const result = routeTableSchema.safeParse({
      upstreams: { monolith: 'http://127.0.0.1:1' },
      routes: [{ prefix: '/api/users', upstream: 'monolith', migration: { flag: 'users', to: 'users' } }],
      flagSeeds: {},
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toEqual([
      'unknown upstream "users"',
      'flag "users" has no seed',
    ]);
  });

  it('takes an absolute FLAG_SNAPSHOT_FILE and refuses a relative one', () => {
    expect(loadConfig(configSchema, { FLAG_SNAPSHOT_FILE: '/var/lib/gateway/flags.json' })).toMatchObject({
      FLAG_SNAPSHOT_FILE: '/var/lib/gateway/flags.json',
    });
    expect(loadConfig(configSchema, { FLAG_SNAPSHOT_FILE: '' }).FLAG_SNAPSHOT_FILE).toBeUndefined();
    expect(() => loadConfig(configSchema, { FLAG_SNAPSHOT_FILE: 'flags.json' })).toThrow(
      'FLAG_SNAPSHOT_FILE: must be an absolute file path (got "flags.json")',
    );
  });
});
