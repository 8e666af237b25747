import { ConfigError, loadConfig } from '@cinemaabyss/service-kit';
import { describe, expect, it } from 'vitest';
import { configSchema } from './config.js';
import { loadPolicy } from './routing/policy.js';

describe('gateway configuration', () => {
  it('refuses MOVIES_MIGRATION_PERCENT=150 with a message naming the variable and the value', () => {
    expect(() => loadConfig(configSchema, { MOVIES_MIGRATION_PERCENT: '150' })).toThrow(ConfigError);
    expect(() => loadConfig(configSchema, { MOVIES_MIGRATION_PERCENT: '150' })).toThrow(
      'MOVIES_MIGRATION_PERCENT: must be an integer from 0 to 100 (got "150")',
    );
  });

  it('refuses a short admin token and a non-http upstream', () => {
    const load = () => loadConfig(configSchema, { ADMIN_TOKEN: 'short', MONOLITH_URL: 'ftp://x' });
    expect(load).toThrow(
      'ADMIN_TOKEN: must be at least 32 characters (e.g. openssl rand -hex 24) (got "short")',
    );
    expect(load).toThrow('MONOLITH_URL: must be an http(s):// URL (got "ftp://x")');
  });

  it('reads TRUST_PROXY as none, a hop count or an address list, and refuses anything else', () => {
    const trust = (value?: string) => loadConfig(configSchema, { TRUST_PROXY: value }).TRUST_PROXY;
    expect(trust()).toBe(false);
    expect(trust('')).toBe(false);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 127.0.0.1,fd00::/8,loopback')).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      'fd00::/8',
      'loopback',
    ]);
    for (const bad of ['0', 'true', '10.0.0.0/33', '300.1.1.1', '10.0.0.0/8,', 'example.com'])
      expect(() => trust(bad)).toThrow(`TRUST_PROXY: must be a number of proxy hops`);
  });

  it('refuses a buffered-bytes budget that is not a size or is below the body limit', () => {
    expect(() => loadConfig(configSchema, { GATEWAY_MAX_BUFFERED_BYTES: '64MB' })).toThrow(
      'GATEWAY_MAX_BUFFERED_BYTES: must be a whole number of bytes (got "64MB")',
    );
    expect(() =>
      loadConfig(configSchema, { GATEWAY_MAX_BODY_BYTES: '2000', GATEWAY_MAX_BUFFERED_BYTES: '1000' }),
    ).toThrow('GATEWAY_MAX_BUFFERED_BYTES: must be at least GATEWAY_MAX_BODY_BYTES');
    expect(loadConfig(configSchema, {}).GATEWAY_MAX_BUFFERED_BYTES).toBe(64 * 1_048_576);
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    expect(() =>
      loadConfig(configSchema, { CLIENT_HEADERS_TIMEOUT_MS: '40000', CLIENT_REQUEST_TIMEOUT_MS: '30000' }),
    ).toThrow('CLIENT_HEADERS_TIMEOUT_MS: must not be longer than CLIENT_REQUEST_TIMEOUT_MS (got "40000")');
  });

  it('seeds the movies flag of the built-in policy from GRADUAL_MIGRATION and MOVIES_MIGRATION_PERCENT', () => {
    const config = loadConfig(configSchema, { GRADUAL_MIGRATION: 'false', MOVIES_MIGRATION_PERCENT: '30' });
    expect(loadPolicy(config).flags.movies?.seed).toEqual({ enabled: false, percent: 30 });
    expect(loadPolicy(loadConfig(configSchema, {})).flags.movies?.seed).toEqual({
      enabled: true,
      percent: 0,
    });
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
