import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@cinemaabyss/service-kit';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_POLICY, loadPolicy } from './policy.js';

const dir = mkdtempSync(join(tmpdir(), 'gateway-policy-'));
let files = 0;
const file = (text: string) => {
  const path = join(dir, `routes-${files++}.yaml`);
  writeFileSync(path, text);
  return path;
};
const REPOSITORY_FILE = new URL('../../../../deploy/k8s/gateway-routes.yaml', import.meta.url).pathname;

const USERS = `
upstreams:
  monolith: http://127.0.0.1:8080
  users: http://127.0.0.1:8083
routes:
  - { prefix: /api/users, upstream: monolith, migrate: { flag: users, to: users } }
  - { prefix: /api, upstream: monolith }
flags:
  users:
    seed: { enabled: true, percent: 10 }
    stickiness: X-Session-Id
    methods: [GET, HEAD]
    force: x-migration-force
    data: users
`;

describe('routing policy', () => {
  it('reads a routes file, with defaults for what a flag leaves out', () => {
    const policy = loadPolicy({ GATEWAY_ROUTES_FILE: file(USERS) }, {});
    expect(policy.flags.users).toEqual({
      seed: { enabled: true, percent: 10 },
      stickiness: 'x-session-id',
      methods: ['GET', 'HEAD'],
      force: 'x-migration-force',
      data: 'users',
    });
    const minimal = loadPolicy(
      { GATEWAY_ROUTES_FILE: file(USERS.replace(/flags:[\s\S]*/, 'flags:\n  users: {}\n')) },
      {},
    );
    expect(minimal.flags.users).toEqual({ seed: { enabled: true, percent: 0 }, stickiness: 'x-user-id' });
  });

  it('uses the built-in table without a file, equal to the repository file', () => {
    expect(loadPolicy({}, {})).toEqual(loadPolicy({ GATEWAY_ROUTES_FILE: REPOSITORY_FILE }, {}));
    expect(loadPolicy({}, {}).routes).toEqual(BUILT_IN_POLICY.routes);
  });

  it('refuses an unknown upstream, naming the entry', () => {
    const bad = USERS.replace('to: users', 'to: userz');
    expect(() => loadPolicy({ GATEWAY_ROUTES_FILE: file(bad) }, {})).toThrow(ConfigError);
    expect(() => loadPolicy({ GATEWAY_ROUTES_FILE: file(bad) }, {})).toThrow(
      'routes[0].migrate.to: unknown upstream "userz"',
    );
  });

  it('lists every problem of a file at once', () => {
    const bad = `
upstreams: { monolith: ftp://x }
routes:
  - { prefix: api, upstream: monolith }
  - { prefix: /api/users, upstream: monolith, migrate: { flag: users, to: users }, extra: 1 }
flags:
  users: { methods: [FETCH], data: Users }
  orphan: {}
`;
    let message = '';
    try {
      loadPolicy({ GATEWAY_ROUTES_FILE: file(bad) }, {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('upstreams.monolith: must be an http(s):// URL');
    expect(message).toContain('routes[0].prefix: must be a path like /api/movies');
    expect(message).toContain('routes[1]: Unrecognized key: "extra"');
    expect(message).toContain('flags.users.methods[0]: must be one of GET, HEAD');
    expect(message).toContain('flags.users.data: must be lower-case letters, digits and dashes');
  });

  it('refuses a flag no route uses and a missing or unparsable file', () => {
    const orphan = `${USERS}  orphan: {}\n`;
    expect(() => loadPolicy({ GATEWAY_ROUTES_FILE: file(orphan) }, {})).toThrow(
      'flags.orphan: no route migrates with this flag',
    );
    expect(() => loadPolicy({ GATEWAY_ROUTES_FILE: join(dir, 'nope.yaml') }, {})).toThrow(
      /GATEWAY_ROUTES_FILE: cannot read .*nope\.yaml/,
    );
    expect(() => loadPolicy({ GATEWAY_ROUTES_FILE: file('routes: [') }, {})).toThrow(/is not valid YAML/);
  });

  it('lets UPSTREAM_<NAME>_URL and the three legacy variables override upstream URLs', () => {
    const policy = loadPolicy(
      { GATEWAY_ROUTES_FILE: file(USERS), MONOLITH_URL: 'http://monolith:8080' },
      { UPSTREAM_USERS_URL: 'http://users:8083' },
    );
    expect(policy.upstreams).toEqual({ monolith: 'http://monolith:8080', users: 'http://users:8083' });
    expect(() => loadPolicy({}, { UPSTREAM_EVENTS_URL: 'nope' })).toThrow(
      'upstreams.events: must be an http(s):// URL',
    );
  });

  it('keeps GRADUAL_MIGRATION and MOVIES_MIGRATION_PERCENT seeding the movies flag', () => {
    const policy = loadPolicy({ GRADUAL_MIGRATION: false, MOVIES_MIGRATION_PERCENT: 30 }, {});
    expect(policy.flags.movies?.seed).toEqual({ enabled: false, percent: 30 });
  });
});
