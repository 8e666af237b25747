import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  chart,
  endpoints,
  helmTemplate,
  type Manifest,
  parseManifests,
  pinnedKafkaVersion,
  rendered,
  repoRoot,
  run,
  type ServiceName,
  serviceNames as services,
  tool,
  upstreamUrlVariables,
} from './tools.js';

const workloadKinds = new Set(['Deployment', 'StatefulSet']);
/** Their images write their generated config at start-up: under /opt/kafka, /kafka/config (kafka.yaml, connect.yaml). */
const writableRootAllowed = new Set(['kafka', 'connect']);

/** Validates one object against the Kubernetes OpenAPI schema shipped in kubernetes-models (offline). */
async function validateSchema(manifest: Manifest): Promise<void> {
  const { apiVersion, kind } = manifest;
  const module = await import(/* @vite-ignore */ `kubernetes-models/${apiVersion}/${kind}`).catch(() => {
    throw new Error(`no Kubernetes schema for ${apiVersion} ${kind}`);
  });
  const Model = module[kind] ?? module.default;
  new Model(manifest).validate();
}

function componentName(manifest: Manifest): string {
  return manifest.metadata?.labels?.['app.kubernetes.io/name'];
}

function podSpec(workload: Manifest): Manifest {
  return workload.spec.template.spec;
}

/** Same checks for the plain manifests and both Helm renderings. */
const renderings: Array<[string, () => string]> = [
  ['deploy/k8s (kustomize)', rendered.plain],
  ['deploy/k8s with the admin-tokens component', rendered.plainAdminTokens],
  ['helm chart, default values', rendered.helmDefault],
  ['helm chart, production values', rendered.helmProduction],
  ['helm chart, gateway.adminTokens.existingSecret', rendered.helmAdminTokens],
];

describe.each(renderings)('%s', (_label, render) => {
  let text: string;
  let manifests: Manifest[];
  let workloads: Manifest[];
  const byKind = (kind: string) => manifests.filter((m) => m.kind === kind);
  const serviceWorkload = (name: string) =>
    workloads.find((w) => w.kind === 'Deployment' && componentName(w) === name);
  /** The data of the ConfigMaps a workload's container takes its environment from. */
  const configOf = (workload: Manifest): Record<string, string> => {
    const names = (podSpec(workload).containers[0].envFrom ?? []).map((e: Manifest) => e.configMapRef?.name);
    return Object.assign(
      {},
      ...byKind('ConfigMap')
        .filter((c) => names.includes(c.metadata.name))
        .map((c) => c.data),
    );
  };

  beforeAll(() => {
    text = render();
    manifests = parseManifests(text);
    workloads = manifests.filter((m) => workloadKinds.has(m.kind));
  });

  it('decodes strictly into the typed Kubernetes API objects (unknown or mistyped fields fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cinemaabyss-k8s-'));
    const file = join(dir, 'rendered.yaml');
    writeFileSync(file, text);
    const result = run(tool('cinemaabyss-validate'), ['k8s', file]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(manifests.length);
  });

  it('matches the Kubernetes OpenAPI schemas (types, formats, required fields)', async () => {
    for (const manifest of manifests) {
      await expect(
        validateSchema(manifest),
        `${manifest.kind}/${manifest.metadata.name}`,
      ).resolves.toBeUndefined();
    }
  });

  it('has a Deployment and a Service per enabled service', () => {
    for (const name of services) {
      expect(serviceWorkload(name), `${name} Deployment`).toBeDefined();
      expect(byKind('Service').some((s) => s.spec.selector['app.kubernetes.io/name'] === name)).toBe(true);
    }
  });

  it('probes every container; the services on the ports and paths of deploy/services.json', () => {
    for (const workload of workloads) {
      for (const container of podSpec(workload).containers) {
        const where = `${workload.metadata.name}/${container.name}`;
        expect(container.livenessProbe, `${where} livenessProbe`).toBeDefined();
        expect(container.readinessProbe, `${where} readinessProbe`).toBeDefined();
      }
    }
    for (const name of services) {
      const { port, liveness, readiness } = endpoints[name];
      const deployment = serviceWorkload(name) as Manifest;
      const [container] = podSpec(deployment).containers;
      expect(container.ports, `${name} ports`).toMatchObject([{ name: 'http', containerPort: port }]);
      expect(container.startupProbe.httpGet, `${name} startup`).toMatchObject({
        path: liveness,
        port: 'http',
      });
      expect(container.livenessProbe.httpGet, `${name} liveness`).toMatchObject({
        path: liveness,
        port: 'http',
      });
      expect(container.readinessProbe.httpGet, `${name} readiness`).toMatchObject({
        path: readiness,
        port: 'http',
      });
      const service = byKind('Service').find((s) => s.spec.selector['app.kubernetes.io/name'] === name);
      expect(
        service?.spec.ports.map((p: Manifest) => p.port),
        `${name} Service`,
      ).toEqual([port]);
      const config = configOf(deployment);
      expect(config.PORT, `${name} PORT`).toBe(String(port));
      if (name === 'gateway') {
        for (const [upstream, variable] of Object.entries(upstreamUrlVariables)) {
          expect(new URL(String(config[variable])).port, variable).toBe(
            String(endpoints[upstream as ServiceName].port),
          );
        }
      }
    }
  });

  it('sets requests and limits for CPU and memory on every container', () => {
    for (const workload of [...workloads, ...byKind('Job')]) {
      const spec = podSpec(workload);
      for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
        const where = `${workload.metadata.name}/${container.name}`;
        for (const bound of ['requests', 'limits']) {
          expect(container.resources?.[bound]?.cpu, `${where} ${bound}.cpu`).toBeDefined();
          expect(container.resources?.[bound]?.memory, `${where} ${bound}.memory`).toBeDefined();
        }
      }
    }
  });

  it('runs every pod non-root with RuntimeDefault seccomp, no capabilities and a read-only root', () => {
    const pods = [
      ...[...workloads, ...byKind('Job')].map((w) => ({ name: componentName(w), spec: podSpec(w) })),
      ...byKind('Pod').map((p) => ({ name: p.metadata.name, spec: p.spec })),
    ];
    expect(pods.length).toBeGreaterThan(0);
    for (const { name, spec } of pods) {
      expect(spec.securityContext?.runAsNonRoot, `${name} runAsNonRoot`).toBe(true);
      expect(spec.securityContext?.seccompProfile?.type, `${name} seccomp`).toBe('RuntimeDefault');
      for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
        const where = `${name}/${container.name}`;
        const context = container.securityContext ?? {};
        expect(context.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).toBe(false);
        expect(context.capabilities?.drop, `${where} capabilities`).toEqual(['ALL']);
        expect(context.readOnlyRootFilesystem, `${where} readOnlyRootFilesystem`).toBe(
          !writableRootAllowed.has(name),
        );
      }
    }
  });

  it('labels every object of a component with the app.kubernetes.io keys', () => {
    for (const workload of workloads) {
      for (const labels of [workload.metadata.labels, workload.spec.template.metadata.labels]) {
        for (const key of ['name', 'instance', 'component', 'part-of']) {
          expect(labels?.[`app.kubernetes.io/${key}`], `${workload.metadata.name} ${key}`).toBeTruthy();
        }
      }
    }
  });

  it('rolls Deployments out without losing capacity and drains longer than the services do', async () => {
    for (const name of services) {
      const deployment = serviceWorkload(name) as Manifest;
      expect(deployment.spec.strategy.rollingUpdate.maxUnavailable, name).toBe(0);
      expect(deployment.spec.minReadySeconds, name).toBeGreaterThan(0);
      // The pod must outlive the readiness drain plus time for in-flight requests to finish.
      const { configSchema } = await import(`../../services/${name}/src/config.ts`);
      const drainMs = configSchema.shape.SHUTDOWN_DELAY_MS?.parse(undefined) ?? 0;
      expect(podSpec(deployment).terminationGracePeriodSeconds * 1000, name).toBeGreaterThanOrEqual(
        drainMs + 10_000,
      );
    }
  });

  it('keeps at least two gateways: replicas or HPA minimum, plus a PodDisruptionBudget', () => {
    const gateway = serviceWorkload('gateway') as Manifest;
    const hpa = byKind('HorizontalPodAutoscaler').find(
      (h) => h.spec.scaleTargetRef.name === gateway.metadata.name,
    );
    expect(hpa, 'gateway HPA').toBeDefined();
    expect(hpa?.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(gateway.spec.replicas ?? hpa?.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const pdb = byKind('PodDisruptionBudget').find(
      (p) => p.spec.selector.matchLabels['app.kubernetes.io/name'] === 'gateway',
    );
    expect(pdb?.spec.minAvailable).toBeGreaterThanOrEqual(1);
  });

  it('exposes only /api and /health of the gateway through the Ingress, never /admin', () => {
    const [ingress, ...others] = byKind('Ingress');
    expect(others).toHaveLength(0);
    const gatewayService = byKind('Service').find(
      (s) => s.spec.selector['app.kubernetes.io/name'] === 'gateway',
    );
    const rule = ingress?.spec.rules[0];
    expect(rule.host).toBe('cinemaabyss.example.com');
    const paths = rule.http.paths as Manifest[];
    expect(paths.map((p) => p.path).sort()).toEqual(['/api', '/health']);
    for (const path of paths) {
      expect(path.backend.service.name).toBe(gatewayService?.metadata.name);
    }
  });

  it('lets only the gateway reach monolith, movies and events (and movies the monolith), Prometheus their metrics (NetworkPolicy)', () => {
    const policies = byKind('NetworkPolicy');
    expect(policies.some((p) => Object.keys(p.spec.podSelector).length === 0 || isInstanceOnly(p))).toBe(
      true,
    );
    for (const name of services) {
      const rules = policies
        .filter((p) => selects(p.spec.podSelector, name))
        .flatMap((p) => (p.spec.ingress ?? []) as Manifest[]);
      const scrape = rules.filter((rule) => isDeepStrictEqual(rule.from, chartMetricsFrom));
      expect(scrape, `${name}: the chart's networkPolicy.metricsFrom may scrape`).toEqual([
        { from: chartMetricsFrom, ports: [{ port: 'http' }] },
      ]);
      if (name === 'gateway') continue;
      const sources = rules
        .filter((rule) => !scrape.includes(rule))
        .flatMap((rule) => (rule.from ?? [{}]) as Manifest[]);
      expect(sources.length, `${name} has an allow rule`).toBeGreaterThan(0);
      // The movies service hands the movie writes to their owner, the monolith (docs/data.md).
      const callers = name === 'monolith' ? ['gateway', 'movies'] : ['gateway'];
      for (const source of sources) {
        expect(source.namespaceSelector, `${name}: no namespace-wide source`).toBeUndefined();
        const named = callers.filter((caller) => source.podSelector && selects(source.podSelector, caller));
        expect(named, `${name} source`).toHaveLength(1);
        expect(selects(source.podSelector, 'events'), `${name} source excludes others`).toBe(false);
      }
      for (const caller of callers) {
        expect(
          sources.some((source) => source.podSelector && selects(source.podSelector, caller)),
          `${caller} -> ${name}`,
        ).toBe(true);
      }
    }
  });

  it('pins every image to a version, never latest', () => {
    const images = [...workloads, ...byKind('Job')].flatMap((w) =>
      [...(podSpec(w).initContainers ?? []), ...podSpec(w).containers].map(
        (c: Manifest) => c.image as string,
      ),
    );
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      expect(image, image).toMatch(/:[\w][\w.-]*$/);
      expect(image.endsWith(':latest'), image).toBe(false);
    }
  });
});

/** Who may scrape the services by default: the chart's value, which deploy/k8s must equal. */
const chartMetricsFrom: Manifest[] = parse(readFileSync(join(repoRoot, chart, 'values.yaml'), 'utf8'))
  .networkPolicy.metricsFrom;

/** Does a label selector (matchLabels and In expressions) select pods named `name`? */
function selects(selector: Manifest, name: string): boolean {
  const labels = selector.matchLabels ?? {};
  if ('app.kubernetes.io/name' in labels && labels['app.kubernetes.io/name'] !== name) return false;
  for (const expression of selector.matchExpressions ?? []) {
    if (expression.key === 'app.kubernetes.io/name' && expression.operator === 'In') {
      if (!expression.values.includes(name)) return false;
    }
  }
  return true;
}

function isInstanceOnly(policy: Manifest): boolean {
  const selector = policy.spec.podSelector;
  return (
    !selector.matchExpressions &&
    Object.keys(selector.matchLabels ?? {}).join() === 'app.kubernetes.io/instance'
  );
}

describe('deploy/k8s', () => {
  it('commits no Secret: only the template, kept out of kustomization.yaml', () => {
    const kustomization = parse(readFileSync(join(repoRoot, 'deploy/k8s/kustomization.yaml'), 'utf8'));
    expect(kustomization.namespace).toBe('cinemaabyss');
    expect(kustomization.resources).not.toContain('secret.example.yaml');
    expect(parseManifests(rendered.plain()).filter((m) => m.kind === 'Secret')).toEqual([]);
    const template = readFileSync(join(repoRoot, 'deploy/k8s/secret.example.yaml'), 'utf8');
    expect(template).toContain('kubectl -n cinemaabyss create secret generic cinemaabyss-db');
    expect(template).toContain('create secret docker-registry ghcr-pull-secret');
  });

  it('runs Kafka as a single-node KRaft StatefulSet of the pinned broker version', () => {
    const kafka = parseManifests(rendered.plain()).find(
      (m) => m.kind === 'StatefulSet' && m.metadata.name === 'kafka',
    );
    const [container] = podSpec(kafka as Manifest).containers;
    const env = Object.fromEntries(container.env.map((e: Manifest) => [e.name, e.value]));
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(container.image).toBe(`apache/kafka:${pinnedKafkaVersion()}`);
  });
});

describe.each([
  ['deploy/k8s', rendered.plain],
  ['helm chart', rendered.helmDefault],
])('bundled PostgreSQL in %s', (_where, render) => {
  it('decodes logically with a bounded slot, as scripts/stack and compose set it (docs/data.md#capture)', () => {
    const postgres = parseManifests(render()).find(
      (m) => m.kind === 'StatefulSet' && componentName(m) === 'postgres',
    );
    const [container] = podSpec(postgres as Manifest).containers;
    expect(container.args).toEqual(['-c', 'wal_level=logical', '-c', 'max_slot_wal_keep_size=1GB']);
  });
});

describe('helm chart', () => {
  it('passes helm lint --strict with the default, the production and the monitoring values', () => {
    const monitoring = [
      'metrics.serviceMonitor',
      'metrics.prometheusRule',
      'metrics.grafanaDashboard',
    ].flatMap((value) => ['--set', `${value}.enabled=true`]);
    for (const values of [[], ['-f', `${chart}/values-production.yaml`], monitoring]) {
      const result = run(tool('helm'), ['lint', chart, '--strict', ...values]);
      expect(result.stdout + result.stderr).toContain('0 chart(s) failed');
      expect(result.status).toBe(0);
    }
  });

  it('refuses wrong values with a message naming the value (values.schema.json)', () => {
    const cases: Array<[string, string]> = [
      ['moviesMigrationPercent=150', '/moviesMigrationPercent'],
      ['image.tag=latest', '/image/tag'],
      ['gateway.replicaCount=two', '/gateway/replicaCount'],
      ['gateway.unknownKey=1', 'unknownKey'],
      ['networkPolicy.metricsFrom[0].namespace=monitoring', '/networkPolicy/metricsFrom/0'],
    ];
    for (const [value, message] of cases) {
      const result = run(tool('helm'), ['template', 'x', chart, '--set', value]);
      expect(result.status, value).not.toBe(0);
      expect(result.stderr, value).toContain(message);
    }
  });

  it('production values: immutable tags, external data services, no bundled ones', () => {
    const values = parse(readFileSync(join(repoRoot, chart, 'values-production.yaml'), 'utf8'));
    expect(values.image.tag).toMatch(/^\d+\.\d+\.\d+$/);
    const manifests = parseManifests(rendered.helmProduction());
    expect(manifests.filter((m) => m.kind === 'StatefulSet')).toEqual([]);
    const gatewayConfig = manifests.find(
      (m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-gateway'),
    );
    expect(gatewayConfig?.data.REDIS_URL).toBe(values.externalRedis.url);
    const eventsConfig = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-events'));
    expect(eventsConfig?.data.KAFKA_BROKERS).toBe(values.externalKafka.brokers);
  });

  it('renders only the enabled components', () => {
    const manifests = parseManifests(
      helmTemplate(
        '--set',
        'events.enabled=false',
        '--set',
        'kafka.enabled=false',
        '--set',
        'externalKafka.brokers=k:9092',
      ),
    );
    const names = manifests.map((m) => `${m.kind}/${m.metadata.name}`);
    expect(names).not.toContain('Deployment/cinemaabyss-events');
    expect(names).not.toContain('StatefulSet/cinemaabyss-kafka');
    expect(names).toContain('Deployment/cinemaabyss-gateway');
  });

  it('lets exactly the peers of networkPolicy.metricsFrom reach the services, and nobody with []', () => {
    const vmagent = [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'vmagent' } } }];
    const metricsPolicy = (metricsFrom: Manifest[]) =>
      parseManifests(helmTemplate('--set-json', `networkPolicy.metricsFrom=${JSON.stringify(metricsFrom)}`))
        .filter((m) => m.kind === 'NetworkPolicy')
        .filter((p) =>
          (p.spec.ingress ?? []).some((rule: Manifest) => isDeepStrictEqual(rule.from, metricsFrom)),
        );
    const [policy, ...others] = metricsPolicy(vmagent);
    expect(others).toEqual([]);
    expect(policy?.metadata.name).toBe('cinemaabyss-metrics');
    for (const name of services) expect(selects(policy?.spec.podSelector, name), name).toBe(true);
    expect(policy?.spec.ingress).toEqual([{ from: vmagent, ports: [{ port: 'http' }] }]);

    const names = parseManifests(helmTemplate('--set-json', 'networkPolicy.metricsFrom=[]')).map(
      (m) => `${m.kind}/${m.metadata.name}`,
    );
    expect(names).toContain('NetworkPolicy/cinemaabyss-services-from-gateway');
    expect(names).not.toContain('NetworkPolicy/cinemaabyss-metrics');
  });

  it('names the missing setting when a bundled service is off without an external endpoint', () => {
    const result = run(tool('helm'), ['template', 'x', chart, '--set', 'redis.enabled=false']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('externalRedis.url is required');
  });

  it('seeds the flag from values and checks the gateway through its Service in the helm test hook', () => {
    const manifests = parseManifests(
      helmTemplate('--set', 'moviesMigrationPercent=35', '--set', 'gradualMigration=false'),
    );
    const gatewayConfig = manifests.find(
      (m) => m.kind === 'ConfigMap' && m.metadata.name === 'cinemaabyss-gateway',
    );
    expect(gatewayConfig?.data).toMatchObject({ MOVIES_MIGRATION_PERCENT: '35', GRADUAL_MIGRATION: 'false' });
    const testPod = manifests.find((m) => m.kind === 'Pod');
    expect(testPod?.metadata.annotations['helm.sh/hook']).toBe('test');
    expect(testPod?.spec.containers[0].command.join(' ')).toContain('http://cinemaabyss-gateway:8000/health');
  });
});

// The monitoring.coreos.com kinds have no schema in the validator (client-go's scheme) nor in kubernetes-models,
// so their structure is checked here against the Prometheus Operator's API (v1 ServiceMonitor, PrometheusRule).
describe('helm chart: monitoring (metrics.*)', () => {
  const monitoring = [
    '--set',
    'metrics.serviceMonitor.enabled=true',
    '--set',
    'metrics.serviceMonitor.additionalLabels.release=kube-prometheus-stack',
    '--set',
    'metrics.prometheusRule.enabled=true',
    '--set',
    'metrics.grafanaDashboard.enabled=true',
  ];
  const find = (manifests: Manifest[], kind: string) => manifests.filter((m) => m.kind === kind);

  it('renders none of it by default', () => {
    const manifests = parseManifests(rendered.helmDefault());
    expect(find(manifests, 'ServiceMonitor')).toEqual([]);
    expect(find(manifests, 'PrometheusRule')).toEqual([]);
    expect(manifests.some((m) => m.metadata.labels?.grafana_dashboard)).toBe(false);
  });

  it('scrapes the four services and movies-sync through one ServiceMonitor, with the job names the rules use', () => {
    const manifests = parseManifests(
      helmTemplate(...monitoring, '--set', 'metrics.serviceMonitor.interval=15s'),
    );
    const [monitor, ...others] = find(manifests, 'ServiceMonitor');
    expect(others).toEqual([]);
    expect(monitor).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      metadata: { namespace: 'cinemaabyss', labels: { release: 'kube-prometheus-stack' } },
      spec: {
        jobLabel: 'app.kubernetes.io/name',
        namespaceSelector: { matchNames: ['cinemaabyss'] },
        endpoints: [{ port: 'http', path: '/metrics', interval: '15s', scrapeTimeout: '10s' }],
      },
    });
    // The Services it selects: exactly the four and movies-sync, each with the named port and the job label.
    const { matchLabels, matchExpressions } = monitor!.spec.selector;
    const selected = find(manifests, 'Service').filter(
      (svc) =>
        Object.entries(matchLabels).every(([key, value]) => svc.metadata.labels[key] === value) &&
        matchExpressions.every(
          (e: Manifest) => e.operator === 'In' && e.values.includes(svc.metadata.labels[e.key]),
        ),
    );
    expect(selected.map((svc) => svc.metadata.labels['app.kubernetes.io/name']).sort()).toEqual(
      [...services, 'movies-sync'].sort(),
    );
    for (const svc of selected) expect(svc.spec.ports.map((p: Manifest) => p.name)).toContain('http');
  });

  it('ships the rules file as the PrometheusRule and the dashboard as a ConfigMap for the Grafana sidecar, unchanged', () => {
    const manifests = parseManifests(helmTemplate(...monitoring));
    const [rule] = find(manifests, 'PrometheusRule');
    expect(rule?.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule?.spec).toEqual(
      parse(readFileSync(join(repoRoot, 'deploy/prometheus/cinemaabyss.rules.yaml'), 'utf8')),
    );
    const [dashboard] = manifests.filter(
      (m) => m.kind === 'ConfigMap' && m.metadata.labels?.grafana_dashboard,
    );
    expect(dashboard?.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(dashboard?.data['cinemaabyss-migration.json'])).toEqual(
      JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/cinemaabyss-migration.json'), 'utf8')),
    );
    // The ConfigMap is a core kind: strictly decoded like the rest.
    const file = join(mkdtempSync(join(tmpdir(), 'cinemaabyss-k8s-')), 'dashboard.yaml');
    writeFileSync(file, JSON.stringify(dashboard));
    const result = run(tool('cinemaabyss-validate'), ['k8s', file]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('puts them in another namespace when told, and refuses a malformed interval', () => {
    const manifests = parseManifests(
      helmTemplate(...monitoring, '--set', 'metrics.serviceMonitor.namespace=monitoring'),
    );
    expect(find(manifests, 'ServiceMonitor')[0]?.metadata.namespace).toBe('monitoring');
    const result = run(tool('helm'), [
      'template',
      'x',
      chart,
      '--set',
      'metrics.serviceMonitor.interval=often',
    ]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('/metrics/serviceMonitor/interval');
  });
});

describe('offline validator', () => {
  it('rejects an unknown field, so the checks above can fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cinemaabyss-k8s-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n');
    const result = run(tool('cinemaabyss-validate'), ['k8s', file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('unknown field "spec.portz"');
  });

  it('rejects a value of the wrong type through kubernetes-models', async () => {
    const manifest = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'x' },
      spec: { ports: [{ port: 'http' }] },
    };
    await expect(validateSchema(manifest)).rejects.toThrow(/port must be integer/);
  });
});
