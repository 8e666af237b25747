import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  chart,
  connectImageEnvironment,
  connectorFile,
  connectorName,
  connectWorker,
  endpoints,
  helmTemplate,
  type Manifest,
  parseManifests,
  pinnedDebeziumVersion,
  rendered,
  repoRoot,
  run,
  stackCaptureSettings,
  syncEndpoints,
  tool,
} from './tools.js';

// The data path of issue 27 (docs/data.md) as each deployment runs it, checked against what the native stack
// runs: the Connect worker of deploy/connect/worker.json with tools/connect's Debezium, the connector file
// scripts/stack registers, the capture roles and grants of deploy/k8s/postgres (scripts/stack runs the same
// files), PostgreSQL's settings as scripts/stack sets them, movies-sync on its config's port.

const file = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
// The sync's config schema (an import outside this package: no .ts extension check, as services.test.ts).
const syncConfig = import(/* @vite-ignore */ join(repoRoot, 'services/movies/src/sync/config.ts'));
const connectImage = () => `quay.io/debezium/connect:${pinnedDebeziumVersion()}`;
/** The one topic the connector's router sends every change to: what movies-sync reads. */
const changeTopic: string = JSON.parse(file(connectorFile))['transforms.onestream.replacement'];
/** Settings a production Kafka sets otherwise (values-production.yaml: connect.replicationFactor). */
const perCluster = /_REPLICATION_FACTOR$/;

const byName = (manifests: Manifest[], kind: string, name: string) =>
  manifests.find(
    (m) => m.kind === kind && m.metadata.labels?.['app.kubernetes.io/name'] === name,
  ) as Manifest;
const podOf = (workload: Manifest): Manifest => workload.spec.template.spec;

/**
 * A container's environment: its ConfigMaps' data, then `env`, $(VAR) expanded as Kubernetes does except a
 * Secret's value, which stays $(VAR); a variable from a Secret reads secret:NAME/KEY.
 */
function environment(manifests: Manifest[], container: Manifest): Record<string, string> {
  const env: Record<string, string> = {};
  const secrets = new Set<string>();
  for (const source of container.envFrom ?? []) {
    const configMap = manifests.find(
      (m) => m.kind === 'ConfigMap' && m.metadata.name === source.configMapRef.name,
    );
    Object.assign(env, configMap?.data);
  }
  for (const entry of container.env ?? []) {
    const secret = entry.valueFrom?.secretKeyRef;
    if (secret) secrets.add(entry.name);
    env[entry.name] = secret
      ? `secret:${secret.name}/${secret.key}`
      : String(entry.value).replace(/\$\((\w+)\)/g, (whole, name) =>
          secrets.has(name) ? whole : (env[name] ?? whole),
        );
  }
  return env;
}

/** The content of the file a container sees at `path`, from the ConfigMap volume mounted above it. */
function mountedFile(
  manifests: Manifest[],
  pod: Manifest,
  container: Manifest,
  path: string,
): string | undefined {
  for (const mount of container.volumeMounts ?? []) {
    if (!path.startsWith(`${mount.mountPath}/`)) continue;
    const volume = pod.volumes.find((v: Manifest) => v.name === mount.name);
    const configMap = manifests.find(
      (m) => m.kind === 'ConfigMap' && m.metadata.name === volume?.configMap?.name,
    );
    const name = path.slice(mount.mountPath.length + 1);
    const key = volume?.configMap?.items
      ? volume.configMap.items.find((item: Manifest) => item.path === name)?.key
      : name;
    if (key !== undefined) return configMap?.data[key];
  }
  return undefined;
}

/** Which components a NetworkPolicy rule's peers select (podSelector by name), nothing namespace-wide. */
function peers(rule: Manifest): string[] {
  return (rule.from ?? [{}]).flatMap((peer: Manifest) => {
    expect(peer.namespaceSelector, 'no namespace-wide source').toBeUndefined();
    const selector = peer.podSelector ?? {};
    const named = selector.matchLabels?.['app.kubernetes.io/name'];
    const listed = (selector.matchExpressions ?? [])
      .filter((e: Manifest) => e.key === 'app.kubernetes.io/name' && e.operator === 'In')
      .flatMap((e: Manifest) => e.values);
    const names = named ? [named] : listed;
    expect(names.length, `a named source in ${JSON.stringify(peer)}`).toBeGreaterThan(0);
    return names;
  });
}

function selectsComponent(selector: Manifest, name: string): boolean {
  const named = selector.matchLabels?.['app.kubernetes.io/name'];
  if (named !== undefined) return named === name;
  const listed = (selector.matchExpressions ?? []).find(
    (e: Manifest) => e.key === 'app.kubernetes.io/name' && e.operator === 'In',
  );
  return listed ? listed.values.includes(name) : true;
}

const chartMetricsFrom: Manifest[] = parse(file(`${chart}/values.yaml`)).networkPolicy.metricsFrom;

/** Who may reach each component, scraping aside: the architecture's paths and the data path's. */
const allowedSources: Record<string, string[]> = {
  monolith: ['gateway', 'movies'],
  movies: ['gateway'],
  events: ['gateway'],
  'movies-sync': [],
  postgres: ['connect', 'connector-register', 'monolith', 'movies', 'movies-sync'],
  kafka: ['connect', 'events', 'movies-sync'],
  redis: ['gateway', 'movies-sync'],
  connect: ['connector-register', 'movies-sync'],
};

describe.each([
  ['deploy/k8s (kustomize)', rendered.plain, true],
  ['helm chart, default values', rendered.helmDefault, true],
  ['helm chart, production values', rendered.helmProduction, false],
])('%s: the data path', (_label, render, bundledPostgres) => {
  let manifests: Manifest[];
  let monolithDatabase: URL;
  beforeAll(() => {
    manifests = parseManifests(render());
    const monolith = podOf(byName(manifests, 'Deployment', 'monolith')).containers[0];
    monolithDatabase = new URL(String(environment(manifests, monolith).DATABASE_URL));
  });
  const serviceOf = (name: string) =>
    manifests.find(
      (m) => m.kind === 'Service' && m.spec.selector['app.kubernetes.io/name'] === name,
    ) as Manifest;
  const kafkaBrokers = () =>
    environment(manifests, podOf(byName(manifests, 'Deployment', 'events')).containers[0]).KAFKA_BROKERS;

  it("runs Kafka Connect from Debezium's image of the pinned version, with deploy/connect/worker.json's settings", () => {
    const pod = podOf(byName(manifests, 'Deployment', 'connect'));
    const [connect] = pod.containers;
    expect(connect.image).toBe(connectImage());
    expect(connect.ports).toMatchObject([{ name: 'http', containerPort: connectWorker.port }]);
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      expect(connect[probe].httpGet, probe).toEqual({ path: connectWorker.readiness, port: 'http' });
    }
    expect(serviceOf('connect').spec.ports.map((p: Manifest) => p.port)).toEqual([connectWorker.port]);

    const env = environment(manifests, connect);
    const worker = connectImageEnvironment();
    for (const [name, value] of Object.entries(worker)) {
      if (perCluster.test(name)) expect(Number(env[name]), name).toBeGreaterThanOrEqual(Number(value));
      else expect(env[name], name).toBe(value);
    }
    const database = ['HOST', 'PORT', 'USER', 'PASSWORD', 'NAME'].map((part) => `CDC_DATABASE_${part}`);
    expect(Object.keys(env).sort()).toEqual(
      [...Object.keys(worker), 'BOOTSTRAP_SERVERS', ...database].sort(),
    );
    expect(env.BOOTSTRAP_SERVERS, 'the broker the events service uses').toBe(kafkaBrokers());
    // The capture role of capture-roles.sql, on the monolith's database, its password from the Secret.
    expect(env.CDC_DATABASE_USER).toBe('cinemaabyss_cdc');
    expect(file('deploy/k8s/postgres/capture-roles.sql')).toContain(
      'CREATE ROLE cinemaabyss_cdc LOGIN REPLICATION',
    );
    expect([env.CDC_DATABASE_HOST, env.CDC_DATABASE_PORT, env.CDC_DATABASE_NAME]).toEqual([
      monolithDatabase.hostname,
      monolithDatabase.port || '5432',
      monolithDatabase.pathname.slice(1),
    ]);
    expect(env.CDC_DATABASE_PASSWORD).toMatch(/^secret:[\w-]+\/CDC_DB_PASSWORD$/);
    // Every ${env:...} of the connector file is set in the worker.
    for (const [, name] of file(connectorFile).matchAll(/\$\{env:(\w+)\}/g))
      expect(env, name).toHaveProperty(String(name));
  });

  it('registers the connector file with a Job: the capture grants first, then PUT to Connect', () => {
    const job = byName(manifests, 'Job', 'connector-register');
    expect(job.spec.backoffLimit).toBeGreaterThan(0);
    const pod = podOf(job);
    expect(pod.restartPolicy).toBe('OnFailure');

    const [grants] = pod.initContainers;
    const script = grants.command[grants.command.indexOf('-f') + 1];
    expect(grants.command.slice(0, 2)).toEqual(['psql', '$(DATABASE_URL)']);
    expect(grants.command).toContain('role=cinemaabyss_cdc');
    expect(mountedFile(manifests, pod, grants, script)).toBe(file('deploy/k8s/postgres/capture-grants.sql'));
    // As the tables' owner: the monolith's own DATABASE_URL.
    expect(environment(manifests, grants).DATABASE_URL).toBe(monolithDatabase.href);

    const [register] = pod.containers;
    expect(register.image).toBe(connectImage());
    expect(register.command.slice(0, 2)).toEqual(['curl', '-fsS']);
    expect(register.command[register.command.indexOf('-X') + 1]).toBe('PUT');
    const data = String(register.command[register.command.indexOf('--data') + 1]);
    expect(mountedFile(manifests, pod, register, data.slice(1)), 'the connector file, unchanged').toBe(
      file(connectorFile),
    );
    const connect = serviceOf('connect');
    expect(register.command.at(-1)).toBe(
      `http://${connect.metadata.name}:${connectWorker.port}/connectors/${connectorName}/config`,
    );
  });

  it("runs movies-sync from the movies image with its other entry, on its config's port and probe paths", async () => {
    const { port, liveness, readiness } = await syncEndpoints();
    const deployment = byName(manifests, 'Deployment', 'movies-sync');
    const [sync] = podOf(deployment).containers;
    const [movies] = podOf(byName(manifests, 'Deployment', 'movies')).containers;
    expect(sync.image).toBe(movies.image);
    expect(sync.command).toEqual(['node', 'dist/sync/server.js']);
    expect(sync.ports).toMatchObject([{ name: 'http', containerPort: port }]);
    expect(sync.startupProbe.httpGet).toEqual({ path: liveness, port: 'http' });
    expect(sync.livenessProbe.httpGet).toEqual({ path: liveness, port: 'http' });
    expect(sync.readinessProbe.httpGet).toEqual({ path: readiness, port: 'http' });
    expect(serviceOf('movies-sync').spec.ports.map((p: Manifest) => p.port)).toEqual([port]);

    const env = environment(manifests, sync);
    expect(env.PORT).toBe(String(port));
    expect(env.KAFKA_BROKERS, 'the broker the events service uses').toBe(kafkaBrokers());
    expect(env.SYNC_TOPIC, "the connector's one topic").toBe(changeTopic);
    const known = Object.keys((await syncConfig).configSchema.shape);
    const passwords = ['MOVIES_DB_PASSWORD', 'CDC_DB_PASSWORD'];
    expect(Object.keys(env).filter((key) => !known.includes(key) && !passwords.includes(key))).toEqual([]);
    // One consumer of a one-partition topic, rolled without a gap, outliving its drain.
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const drainMs = (await syncConfig).configSchema.shape.SHUTDOWN_DELAY_MS.parse(undefined);
    expect(podOf(deployment).terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(drainMs + 10_000);
  });

  it("points movies-sync's parity checker and status at the monolith's database, Redis and Connect", () => {
    const [sync] = podOf(byName(manifests, 'Deployment', 'movies-sync')).containers;
    const env = environment(manifests, sync);
    // The monolith's database as the capture role, its password from the Secret Connect reads it from.
    const source = new URL(String(env.SOURCE_DATABASE_URL));
    expect([source.username, source.password, source.host, source.pathname]).toEqual([
      'cinemaabyss_cdc',
      '$(CDC_DB_PASSWORD)',
      monolithDatabase.host,
      monolithDatabase.pathname,
    ]);
    const [connect] = podOf(byName(manifests, 'Deployment', 'connect')).containers;
    expect(env.CDC_DB_PASSWORD).toBe(environment(manifests, connect).CDC_DATABASE_PASSWORD);
    // The Redis the gateway reads the status from.
    const [gateway] = podOf(byName(manifests, 'Deployment', 'gateway')).containers;
    expect(env.REDIS_URL).toMatch(/^rediss?:\/\//);
    expect(env.REDIS_URL).toBe(environment(manifests, gateway).REDIS_URL);
    // Connect's Service, on deploy/connect/worker.json's port: where the registration Job PUTs too.
    expect(env.CONNECT_URL).toBe(`http://${serviceOf('connect').metadata.name}:${connectWorker.port}`);
    const register = podOf(byName(manifests, 'Job', 'connector-register')).containers[0];
    expect(register.command.at(-1)).toBe(`${env.CONNECT_URL}/connectors/${connectorName}/config`);
  });

  it('points the movies service and movies-sync at the movies database, migrated before either serves', () => {
    const pod = podOf(byName(manifests, 'Deployment', 'movies'));
    const [movies] = pod.containers;
    const env = environment(manifests, movies);
    const database = new URL(String(env.DATABASE_URL));
    expect([database.username, database.password, database.hostname, database.pathname]).toEqual([
      'movies',
      '$(MOVIES_DB_PASSWORD)',
      monolithDatabase.hostname,
      '/movies',
    ]);
    expect(env.MOVIES_DB_PASSWORD).toMatch(/^secret:[\w-]+\/MOVIES_DB_PASSWORD$/);
    const [sync] = podOf(byName(manifests, 'Deployment', 'movies-sync')).containers;
    expect(environment(manifests, sync).DATABASE_URL).toBe(env.DATABASE_URL);
    // Writes are handed to the monolith's Service.
    const monolith = new URL(String(env.MONOLITH_URL));
    expect([monolith.hostname, monolith.port]).toEqual([
      serviceOf('monolith').metadata.name,
      String(endpoints.monolith.port),
    ]);
    const migrate = pod.initContainers?.find((c: Manifest) => c.name === 'migrate');
    expect(migrate?.command).toEqual(['node', 'dist/migrate.js']);
    expect(migrate?.image).toBe(movies.image);
    expect(environment(manifests, migrate).DATABASE_URL).toBe(env.DATABASE_URL);
    expect(env.DB_MIGRATE_ON_START).toBe('false');
  });

  it.runIf(bundledPostgres)(
    'runs the bundled PostgreSQL as scripts/stack sets it up, and makes the capture roles on its first start',
    () => {
      const pod = podOf(byName(manifests, 'StatefulSet', 'postgres'));
      const [postgres] = pod.containers;
      const settings = stackCaptureSettings();
      for (const [name, value] of Object.entries(settings)) {
        const at = postgres.args.indexOf(`${name}=${value}`);
        expect(postgres.args[at - 1], `-c ${name}=${value}`).toBe('-c');
      }
      const initdb = postgres.volumeMounts.find(
        (m: Manifest) => m.mountPath === '/docker-entrypoint-initdb.d',
      );
      const volume = pod.volumes.find((v: Manifest) => v.name === initdb.name);
      expect(volume.configMap.items).toEqual([
        { key: 'postgres-init.sh', path: expect.stringMatching(/\.sh$/) },
      ]);
      // The image runs an executable hook (a sourced one would lose its own path and `set -e`).
      expect(volume.configMap.defaultMode & 0o111).toBe(0o111);
      const hook = `/docker-entrypoint-initdb.d/${volume.configMap.items[0].path}`;
      expect(mountedFile(manifests, pod, postgres, hook)).toBe(file('deploy/k8s/postgres/postgres-init.sh'));
      const sql =
        /CAPTURE_ROLES_SQL:-([^}]+)\}/.exec(file('deploy/k8s/postgres/postgres-init.sh'))?.[1] ?? '';
      expect(mountedFile(manifests, pod, postgres, sql)).toBe(file('deploy/k8s/postgres/capture-roles.sql'));
      const env = environment(manifests, postgres);
      const secret = String(env.POSTGRES_PASSWORD).replace(/\/POSTGRES_PASSWORD$/, '');
      expect([env.CDC_DB_PASSWORD, env.MOVIES_DB_PASSWORD]).toEqual([
        `${secret}/CDC_DB_PASSWORD`,
        `${secret}/MOVIES_DB_PASSWORD`,
      ]);
    },
  );

  it('lets each component be reached on the data path and the architecture only (NetworkPolicy)', () => {
    const policies = manifests.filter((m) => m.kind === 'NetworkPolicy');
    for (const [target, expected] of Object.entries(allowedSources)) {
      const rules = policies
        .filter((p) => selectsComponent(p.spec.podSelector, target))
        .flatMap((p) => (p.spec.ingress ?? []) as Manifest[])
        .filter((rule) => !isDeepStrictEqual(rule.from, chartMetricsFrom));
      expect([...new Set(rules.flatMap(peers))].sort(), target).toEqual(expected);
    }
    const scraped = policies.filter((p) =>
      (p.spec.ingress ?? []).some((rule: Manifest) => isDeepStrictEqual(rule.from, chartMetricsFrom)),
    );
    expect(scraped.some((p) => selectsComponent(p.spec.podSelector, 'movies-sync'))).toBe(true);
  });
});

describe('deploy/k8s: the data path', () => {
  it('names every Secret key it reads in secret.example.yaml, which holds no value', () => {
    const keys = new Set(
      [...rendered.plain().matchAll(/secretKeyRef:\s+key: (\w+)\s+name: cinemaabyss-db/g)].map((m) => m[1]),
    );
    expect([...keys].sort()).toEqual(['CDC_DB_PASSWORD', 'MOVIES_DB_PASSWORD', 'POSTGRES_PASSWORD']);
    const example = file('deploy/k8s/secret.example.yaml');
    for (const key of keys) {
      expect(example).toContain(`--from-literal=${key}=`);
      expect(example).toContain(`${key}: "<replace with: openssl rand -hex 24>"`);
    }
  });
});

describe('helm chart: the data path', () => {
  it("generates the three database passwords in the release's Secret", () => {
    const secret = parseManifests(rendered.helmDefault()).find(
      (m) => m.kind === 'Secret' && m.metadata.name === 'cinemaabyss-db',
    );
    expect(Object.keys(secret?.data ?? {}).sort()).toEqual([
      'CDC_DB_PASSWORD',
      'MOVIES_DB_PASSWORD',
      'POSTGRES_PASSWORD',
    ]);
    for (const value of Object.values<string>(secret?.data))
      expect(Buffer.from(value, 'base64').toString()).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it('registers the connector after every install and upgrade (a hook Job), and can leave the data path out', () => {
    const job = parseManifests(rendered.helmDefault()).find((m) => m.kind === 'Job');
    expect(job?.metadata.annotations['helm.sh/hook']).toBe('post-install,post-upgrade');
    const names = parseManifests(
      helmTemplate('--set', 'connect.enabled=false', '--set', 'moviesSync.enabled=false'),
    ).map((m) => `${m.kind}/${m.metadata.name}`);
    expect(names.filter((name) => /connect|sync/.test(name) && !name.startsWith('NetworkPolicy/'))).toEqual(
      [],
    );
  });

  it('refuses wrong data-path values with a message naming the value', () => {
    const cases: Array<[string, string]> = [
      ['connect.image=quay.io/debezium/connect:latest', '/connect/image'],
      ['moviesSync.replicaCount=2', '/moviesSync/replicaCount'],
      ['postgresql.maxSlotWalKeepSize=lots', '/postgresql/maxSlotWalKeepSize'],
      ['externalConnect.url=connect:8083', '/externalConnect/url'],
      // movies-sync reads the connector's state: without the bundled worker it needs another's URL.
      ['connect.enabled=false', 'externalConnect.url is required'],
    ];
    for (const [value, message] of cases) {
      const result = run(tool('helm'), ['template', 'x', chart, '--set', value]);
      expect(result.status, value).not.toBe(0);
      expect(result.stderr, value).toContain(message);
    }
  });
});

describe('compose.yaml: the data path', () => {
  // biome-ignore lint/suspicious/noExplicitAny: a parsed compose file: any shape, checked by the assertions
  const { services }: { services: Record<string, any> } = parse(file('compose.yaml'), { merge: true });

  it("runs Kafka Connect from Debezium's image of the pinned version, with deploy/connect/worker.json's settings", () => {
    const { connect, events, postgres } = services;
    expect(connect.image).toBe(connectImage());
    const worker = connectImageEnvironment();
    for (const [name, value] of Object.entries(worker)) expect(connect.environment[name], name).toBe(value);
    expect(connect.environment.BOOTSTRAP_SERVERS).toBe(events.environment.KAFKA_BROKERS);
    expect(connect.environment).toMatchObject({
      CDC_DATABASE_HOST: 'postgres',
      CDC_DATABASE_USER: 'cinemaabyss_cdc',
      CDC_DATABASE_PASSWORD: postgres.environment.CDC_DB_PASSWORD,
      CDC_DATABASE_NAME: postgres.environment.POSTGRES_DB,
    });
    expect(connect.healthcheck.test.join(' ')).toContain(
      `http://127.0.0.1:${connectWorker.port}${connectWorker.readiness}`,
    );
  });

  it('registers the connector from the same file, once Connect is healthy and the capture role has its grants', () => {
    const connector = services['connect-register'];
    expect(connector.restart).toBe('no');
    const [source, target] = connector.volumes[0].split(':');
    expect(source).toBe(`./${connectorFile}`);
    expect(connector.command).toContain(`@${target}`);
    expect(connector.command[connector.command.indexOf('-X') + 1]).toBe('PUT');
    expect(connector.command.at(-1)).toBe(
      `http://connect:${connectWorker.port}/connectors/${connectorName}/config`,
    );
    expect(connector.depends_on).toEqual({
      connect: { condition: 'service_healthy' },
      'capture-grants': { condition: 'service_completed_successfully' },
    });
    const grants = services['capture-grants'];
    expect(grants.command[1], "the tables' owner").toBe(services.monolith.environment.DATABASE_URL);
    const [grantsSource, grantsTarget] = grants.volumes[0].split(':');
    expect(grantsSource).toBe('./deploy/k8s/postgres/capture-grants.sql');
    expect(grants.command[grants.command.indexOf('-f') + 1]).toBe(grantsTarget);
    expect(grants.depends_on).toEqual({ monolith: { condition: 'service_healthy' } });
  });

  it('runs PostgreSQL as scripts/stack sets it up, and makes the capture and movies roles on its first start', () => {
    const { postgres, movies, connect } = services;
    for (const [name, value] of Object.entries(stackCaptureSettings())) {
      expect(postgres.command[postgres.command.indexOf(`${name}=${value}`) - 1], name).toBe('-c');
    }
    const sql = /CAPTURE_ROLES_SQL:-([^}]+)\}/.exec(file('deploy/k8s/postgres/postgres-init.sh'))?.[1];
    expect(postgres.volumes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^\.\/deploy\/k8s\/postgres\/postgres-init\.sh:\/docker-entrypoint-initdb\.d\/[\w-]+\.sh:ro$/,
        ),
        `./deploy/k8s/postgres/capture-roles.sql:${sql}:ro`,
      ]),
    );
    // Executable in the repository, so the image runs it rather than sourcing it.
    expect(statSync(join(repoRoot, 'deploy/k8s/postgres/postgres-init.sh')).mode & 0o111).toBe(0o111);
    // The roles get the passwords the services and Connect log in with.
    expect(new URL(movies.environment.DATABASE_URL).password).toBe(postgres.environment.MOVIES_DB_PASSWORD);
    expect(connect.environment.CDC_DATABASE_PASSWORD).toBe(postgres.environment.CDC_DB_PASSWORD);
  });

  it('runs movies on its own database and movies-sync from the same image and build, on its port', async () => {
    const { port, readiness } = await syncEndpoints();
    const { movies } = services;
    const sync = services['movies-sync'];
    expect(sync.build).toEqual(movies.build);
    expect(sync.image).toBe(movies.image);
    expect(sync.command).toEqual(['node', 'dist/sync/server.js']);
    expect(sync.environment.PORT).toBe(String(port));
    expect(sync.healthcheck.test.at(-1)).toContain(`fetch('http://127.0.0.1:${port}${readiness}')`);
    expect(sync.environment.DATABASE_URL).toBe(movies.environment.DATABASE_URL);
    expect(sync.environment.KAFKA_BROKERS).toBe(services.events.environment.KAFKA_BROKERS);
    expect(sync.environment.SYNC_TOPIC, "the connector's one topic").toBe(changeTopic);
    const database = new URL(movies.environment.DATABASE_URL);
    expect([database.username, database.hostname, database.pathname]).toEqual([
      'movies',
      'postgres',
      '/movies',
    ]);
    expect(movies.environment.DB_MIGRATE_ON_START).toBe('true');
    expect(sync.depends_on.movies.condition, 'the movies service migrates the database first').toBe(
      'service_healthy',
    );
    expect(sync.read_only).toBe(true);
  });

  it("points movies-sync's parity checker and status at the monolith's database, Redis and Connect", () => {
    const { postgres, connect, gateway } = services;
    const sync = services['movies-sync'];
    const source = new URL(sync.environment.SOURCE_DATABASE_URL);
    expect([source.username, source.password, source.host, source.pathname]).toEqual([
      connect.environment.CDC_DATABASE_USER,
      postgres.environment.CDC_DB_PASSWORD,
      `${connect.environment.CDC_DATABASE_HOST}:${connect.environment.CDC_DATABASE_PORT}`,
      `/${postgres.environment.POSTGRES_DB}`,
    ]);
    expect(sync.environment.REDIS_URL).toBe(gateway.environment.REDIS_URL);
    expect(new URL(sync.environment.REDIS_URL).hostname).toBe('redis');
    expect(sync.environment.CONNECT_URL).toBe(`http://connect:${connectWorker.port}`);
  });
});

describe('deploy/k8s/connect/cinemaabyss-movies.json', () => {
  it('is a copy of the connector file scripts/stack registers (kustomize reads no file outside deploy/k8s)', () => {
    expect(file('deploy/k8s/connect/cinemaabyss-movies.json')).toBe(file(connectorFile));
  });
});
