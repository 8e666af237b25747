import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rendered, repoRoot, run, runOk, tool } from '../deploy/tools.js';
// @ts-expect-error: a plain .mjs helper of scripts/images, without types
import { rewriter } from './standins.mjs';

// scripts/images runs the images with each path's own settings; these check the derivation without Podman.
const dir = mkdtempSync(join(tmpdir(), 'cinemaabyss-ways-'));
const standIn = ['--port-offset', '10000', '--schema', 'images_run', '--redis-db', '13'];

describe('the stand-ins (tests/images/standins.mjs)', () => {
  const rewrite = rewriter({
    hosts: new Map([
      ['kafka', 0],
      ['monolith', 0],
    ]),
    shifted: new Map([['8080', '18080']]),
    schema: 'images_run',
    redisDb: '13',
  });

  it('moves the path host names to loopback and the services ports by the offset, nothing else', () => {
    expect(rewrite('http://monolith:8080')).toBe('http://127.0.0.1:18080');
    expect(rewrite("fetch('http://127.0.0.1:8080/ready')")).toBe("fetch('http://127.0.0.1:18080/ready')");
    expect(rewrite('kafka:9092,other-kafka:9092')).toBe('127.0.0.1:9092,other-kafka:9092');
    expect(rewrite('http://example.com:8080')).toBe('http://example.com:8080');
  });

  it("puts PostgreSQL on the run's schema and Redis on the run's database", () => {
    const url = new URL(rewrite('postgres://u:p@monolith:5432/cinemaabyss'));
    expect([url.host, url.pathname, url.searchParams.get('options')]).toEqual([
      '127.0.0.1:5432',
      '/cinemaabyss',
      '-c search_path=images_run',
    ]);
    expect(rewrite('redis://kafka:6379')).toBe('redis://127.0.0.1:6379/13');
  });
});

describe.each([
  ['kustomize', rendered.plain],
  ['helm', rendered.helmDefault],
])(
  '%s: podman run arguments from the rendered manifests (tests/images/manifests.mjs)',
  (way, render) => {
    const file = join(dir, `${way}.yaml`);
    writeFileSync(file, render());
    // The Secrets' values are the installation's: scripts/images passes the native stack's.
    const secrets = {
      POSTGRES_PASSWORD: 'secret',
      MOVIES_DB_PASSWORD: 'movies-secret',
      CDC_DB_PASSWORD: 'cdc-secret',
      ADMIN_TOKEN: 'a'.repeat(32),
    };
    const args = (app: string, container: string) => {
      const result = run(
        'node',
        ['tests/images/manifests.mjs', file, app, container, 'IMAGE', '--files', dir, ...standIn],
        secrets,
      );
      expect(result.stderr).toBe('');
      return result.stdout.trim().split('\n');
    };
    const env = (list: string[]) =>
      Object.fromEntries(list.filter((a) => a.startsWith('--env=')).map((a) => a.slice(6).split(/=(.*)/s)));

    it('runs the gateway with its ConfigMap, its limits and its mounted routes, pointed at the containers', () => {
      const gateway = args('gateway', 'gateway');
      expect(gateway).toEqual(
        expect.arrayContaining(['--user=1000:1000', '--read-only', '--cap-drop=ALL', '--memory=192m']),
      );
      expect(env(gateway)).toMatchObject({
        PORT: '18000',
        MONOLITH_URL: 'http://127.0.0.1:18080',
        MOVIES_SERVICE_URL: 'http://127.0.0.1:18081',
        REDIS_URL: 'redis://127.0.0.1:6379/13',
      });
      const routes = gateway.find((a) => a.endsWith(':/etc/cinemaabyss/gateway/routes.yaml:ro'));
      expect(routes).toBeDefined();
      const copy = readFileSync(String(routes?.slice('--volume='.length).split(':')[0]), 'utf8');
      expect(copy).toContain('monolith: http://127.0.0.1:18080');
    });

    it("runs the monolith's init container migrate on the run's schema", () => {
      const migrate = args('monolith', 'migrate');
      expect(migrate).toContain('--entrypoint=["node","dist/migrate.js"]');
      expect(env(migrate).DATABASE_URL).toBe(
        'postgres://cinemaabyss:secret@127.0.0.1:5432/cinemaabyss?options=-c+search_path%3Dimages_run',
      );
    });

    it('runs movies-sync from the movies image with its own entry, on the movies database of the run', () => {
      const sync = args('movies-sync', 'movies-sync');
      expect(sync).toContain('--entrypoint=["node","dist/sync/server.js"]');
      expect(env(sync)).toMatchObject({
        PORT: '18084',
        KAFKA_BROKERS: '127.0.0.1:9092',
        DATABASE_URL:
          'postgres://movies:movies-secret@127.0.0.1:5432/movies?options=-c+search_path%3Dimages_run',
        // The parity checker and data status: the native stack's capture role, Redis and Connect worker.
        SOURCE_DATABASE_URL:
          'postgres://cinemaabyss_cdc:cdc-secret@127.0.0.1:5432/cinemaabyss?options=-c+search_path%3Dimages_run',
        REDIS_URL: 'redis://127.0.0.1:6379/13',
        CONNECT_URL: 'http://127.0.0.1:8083',
      });
      const migrate = args('movies', 'migrate');
      expect(migrate).toContain('--entrypoint=["node","dist/migrate.js"]');
      expect(env(migrate).DATABASE_URL).toBe(env(sync).DATABASE_URL);
    });

    it('names the third-party workloads and Jobs the native stack stands in for', () => {
      const lines = runOk('node', ['tests/images/manifests.mjs', file, '--stand-ins']).trim().split('\n');
      expect(lines.map((line) => line.split(' ')[1]).sort()).toEqual([
        'apache/kafka:4.4.0',
        'postgres:16.10-alpine',
        'postgres:16.10-alpine,quay.io/debezium/connect:3.6.1.Final',
        'quay.io/debezium/connect:3.6.1.Final',
        'redis:7.4.5-alpine',
      ]);
    });

    it('refuses what it cannot reproduce rather than skipping it', () => {
      const missing = run('node', [
        'tests/images/manifests.mjs',
        file,
        'nothing',
        'x',
        'IMAGE',
        '--files',
        dir,
      ]);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/no Deployment of app\.kubernetes\.io\/name=nothing/);
    });
  },
  60_000,
);

describe('compose: the project as compose-go loads it (cinemaabyss-validate compose-json)', () => {
  it("gives each service compose.yaml's environment, healthcheck and start order", () => {
    const result = run(tool('cinemaabyss-validate'), ['compose-json', join(repoRoot, 'compose.yaml')], {
      ADMIN_TOKEN: 'token-from-the-shell',
      LOG_LEVEL: undefined,
    });
    expect(result.stderr).toBe('');
    const { services } = JSON.parse(result.stdout);
    expect(services.monolith.environment).toMatchObject({ DB_MIGRATE_ON_START: 'true', LOG_LEVEL: 'info' });
    expect(services.gateway.environment.ADMIN_TOKEN).toBe('token-from-the-shell');
    expect(services.movies.depends_on.monolith.condition).toBe('service_healthy');
    expect(services.monolith.healthcheck.test[0]).toBe('CMD');
  });
});
