import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  serviceNames as apps,
  endpoints,
  pinnedKafkaVersion,
  repoRoot,
  run,
  type ServiceName,
  tool,
  upstreamUrlVariables,
} from './tools.js';

const composeFile = join(repoRoot, 'compose.yaml');
const connectWorker = JSON.parse(readFileSync(join(repoRoot, 'deploy/connect/worker.json'), 'utf8')) as {
  port: number;
  heap: string;
  settings: Record<string, string>;
};
// merge: the app services share their hardening through a YAML merge key (<<: *service-defaults).
const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true });
const oneShots = ['capture-grants', 'connect-register'];

describe('compose.yaml', () => {
  it('loads with compose-go, the loader of `docker compose` (schema, interpolation, depends_on)', () => {
    const result = run(tool('cinemaabyss-validate'), ['compose', composeFile]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const services = [
      'capture-grants',
      'connect',
      'connect-register',
      'events',
      'gateway',
      'kafka',
      'kafka-ui',
      'monolith',
      'movies',
      'movies-sync',
      'postgres',
      'redis',
    ];
    expect(result.stdout.trim().split('\n')).toEqual(
      services.map((s) => `compose ${composeFile}: service ${s} ok`),
    );
  });

  it('adds Prometheus and Grafana with the observability profile', () => {
    const result = run(tool('cinemaabyss-validate'), ['compose', composeFile], {
      COMPOSE_PROFILES: 'observability',
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`compose ${composeFile}: service prometheus ok`);
    expect(result.stdout).toContain(`compose ${composeFile}: service grafana ok`);
  });

  it('provisions the shipped scrape config, rules and dashboard, on the Prometheus the tests build', () => {
    const { prometheus, grafana } = compose.services;
    expect(prometheus.profiles).toEqual(['observability']);
    expect(grafana.profiles).toEqual(['observability']);
    expect(prometheus.volumes).toContain(
      './deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
    );
    // The scrape config names the rules file where compose mounts it.
    const scrapeConfig = parse(readFileSync(join(repoRoot, 'deploy/prometheus/prometheus.yml'), 'utf8'));
    expect(prometheus.volumes).toContain(
      `./deploy/prometheus/cinemaabyss.rules.yaml:${scrapeConfig.rule_files[0]}:ro`,
    );
    expect(grafana.volumes).toContain(
      './deploy/grafana/cinemaabyss-migration.json:/var/lib/grafana/dashboards/cinemaabyss-migration.json:ro',
    );
    const installed = readFileSync(join(repoRoot, 'tools/install-go-tools.sh'), 'utf8');
    const release = /common\/version\.Version=(\d+\.\d+\.\d+)/.exec(installed)?.[1];
    expect(prometheus.image).toBe(`prom/prometheus:v${release}`);
    expect(grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
  });

  it('is rejected by the same loader when broken, so the check above can fail', () => {
    const broken = readFileSync(composeFile, 'utf8').replace(
      'condition: service_healthy',
      'condition: service_ok',
    );
    const file = join(mkdtempSync(join(tmpdir(), 'cinemaabyss-compose-')), 'compose.yaml');
    writeFileSync(file, broken);
    const result = run(tool('cinemaabyss-validate'), ['compose', file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('condition');
  });

  it('health-checks every service and starts each only after its dependencies are healthy (or done)', () => {
    // biome-ignore lint/suspicious/noExplicitAny: a parsed compose file: any shape, checked by the assertions
    for (const [name, service] of Object.entries<Record<string, any>>(compose.services)) {
      // One-shot jobs run to completion instead: what waits for them waits for their success.
      const oneShot = oneShots.includes(name);
      expect(service.restart === 'no', `${name} restart`).toBe(oneShot);
      if (name !== 'kafka-ui' && !oneShot) {
        expect(service.healthcheck?.test, `${name} healthcheck`).toBeDefined();
      }
      for (const [dependency, condition] of Object.entries<Record<string, string>>(
        service.depends_on ?? {},
      )) {
        expect(condition.condition, `${name} -> ${dependency}`).toBe(
          oneShots.includes(dependency) ? 'service_completed_successfully' : 'service_healthy',
        );
      }
    }
    expect(Object.keys(compose.services.gateway.depends_on).sort()).toEqual([
      'events',
      'monolith',
      'movies',
      'redis',
    ]);
  });

  it('builds the four services from their Dockerfiles and runs them locked down', () => {
    for (const name of apps) {
      const service = compose.services[name];
      expect(service.build.dockerfile).toBe(`services/${name}/Dockerfile`);
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toEqual(['ALL']);
    }
  });

  it('publishes the gateway on its port; Kafka UI (8090), Connect, Prometheus and Grafana on loopback only; nothing else', () => {
    // biome-ignore lint/suspicious/noExplicitAny: a parsed compose file: any shape, checked by the assertions
    const published = Object.entries<Record<string, any>>(compose.services)
      .filter(([, service]) => service.ports)
      .map(([name, service]) => [name, service.ports]);
    const { port } = endpoints.gateway;
    expect(published).toEqual([
      // Without a login (Kafka UI, Connect's REST API) or with a default one (Grafana): never on every interface.
      ['kafka-ui', ['127.0.0.1:8090:8080']],
      ['connect', [`127.0.0.1:${connectWorker.port}:${connectWorker.port}`]],
      ['gateway', [`${port}:${port}`]],
      ['prometheus', ['127.0.0.1:9090:9090']],
      ['grafana', ['127.0.0.1:3000:3000']],
    ]);
  });

  it('runs each service on the port of deploy/services.json and health-checks its readiness path', () => {
    for (const name of apps) {
      const { port, readiness } = endpoints[name];
      const service = compose.services[name];
      expect(service.environment.PORT, name).toBe(String(port));
      const [, node, flag, script] = service.healthcheck.test;
      expect([node, flag], name).toEqual(['node', '-e']);
      expect(script, name).toContain(`fetch('http://127.0.0.1:${port}${readiness}')`);
    }
    for (const [upstream, variable] of Object.entries(upstreamUrlVariables)) {
      const url = new URL(compose.services.gateway.environment[variable]);
      expect(url.port, variable).toBe(String(endpoints[upstream as ServiceName].port));
    }
  });

  it('runs KRaft Kafka of the pinned version, the kafbat UI, named volumes and migrations on start', () => {
    expect(compose.services.kafka.image).toBe(`apache/kafka:${pinnedKafkaVersion()}`);
    expect(compose.services.kafka.environment.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(compose.services['kafka-ui'].image).toMatch(/^kafbat\/kafka-ui:v\d/);
    expect(Object.keys(compose.volumes).sort()).toEqual([
      'grafana-data',
      'kafka-data',
      'postgres-data',
      'prometheus-data',
      'redis-data',
    ]);
    expect(compose.services.monolith.environment.DB_MIGRATE_ON_START).toBe('true');
  });

  it('runs change data capture as the native stack does (deploy/connect, docs/data.md#capture)', () => {
    const { connect, postgres } = compose.services;
    const pom = readFileSync(join(repoRoot, 'tools/connect/pom.xml'), 'utf8');
    const debezium = /<debezium\.version>([^<]+)<\/debezium\.version>/.exec(pom)?.[1];
    expect(connect.image).toBe(`quay.io/debezium/connect:${debezium}`);
    // Every worker setting, under the image's own short name or as CONNECT_<NAME>.
    const shortNames: Record<string, string> = {
      'group.id': 'GROUP_ID',
      'config.storage.topic': 'CONFIG_STORAGE_TOPIC',
      'offset.storage.topic': 'OFFSET_STORAGE_TOPIC',
      'status.storage.topic': 'STATUS_STORAGE_TOPIC',
      'offset.flush.interval.ms': 'OFFSET_FLUSH_INTERVAL_MS',
      'key.converter': 'KEY_CONVERTER',
      'value.converter': 'VALUE_CONVERTER',
    };
    for (const [setting, value] of Object.entries(connectWorker.settings)) {
      const variable = shortNames[setting] ?? `CONNECT_${setting.toUpperCase().replaceAll('.', '_')}`;
      expect(connect.environment[variable], setting).toBe(value);
    }
    expect(connect.environment.HEAP_OPTS).toBe(`-Xms${connectWorker.heap} -Xmx${connectWorker.heap}`);
    // The connector's \${env:...} references, and logical decoding on the bundled PostgreSQL.
    const connector = readFileSync(join(repoRoot, 'deploy/connect/cinemaabyss-movies.json'), 'utf8');
    for (const [, name] of connector.matchAll(/\$\{env:([A-Z_]+)\}/g)) {
      expect(connect.environment[name as string], name).toBeDefined();
    }
    expect(postgres.command).toEqual(
      expect.arrayContaining(['wal_level=logical', 'max_slot_wal_keep_size=1GB']),
    );
    // The roles at the first start: deploy/k8s/postgres (tests/deploy/data.test.ts checks the hook and its SQL).
    expect(postgres.volumes).toContain(
      './deploy/k8s/postgres/postgres-init.sh:/docker-entrypoint-initdb.d/10-capture-roles.sh:ro',
    );
    expect(compose.services['connect-register'].volumes[0]).toMatch(
      /^\.\/deploy\/connect\/cinemaabyss-movies\.json:/,
    );
  });

  it('commits no admin token: passed through from the shell only when set', () => {
    expect(compose.services.gateway.environment.ADMIN_TOKEN).toBeNull();
  });
});
