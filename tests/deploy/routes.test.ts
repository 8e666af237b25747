import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { helmTemplate, type Manifest, parseManifests, rendered, repoRoot } from './tools.js';

// The routing policy has one source, deploy/k8s/gateway-routes.yaml: every deployment must carry exactly it.
const ROUTES_FILE = 'deploy/k8s/gateway-routes.yaml';
const routes = parse(readFileSync(join(repoRoot, ROUTES_FILE), 'utf8'));

const find = (manifests: Manifest[], kind: string, name: RegExp) => {
  const found = manifests.find((m) => m.kind === kind && name.test(m.metadata.name));
  if (!found) throw new Error(`no ${kind} matching ${name}`);
  return found;
};

/** The routes file the gateway of these manifests reads: its env path resolved through the mounted ConfigMap. */
function mountedRoutes(manifests: Manifest[]) {
  const deployment = find(manifests, 'Deployment', /gateway$/);
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c: Manifest) => c.name === 'gateway');
  const configs = (container.envFrom ?? []).map((source: Manifest) =>
    find(manifests, 'ConfigMap', new RegExp(`^${source.configMapRef.name}$`)),
  );
  const path = configs.map((c: Manifest) => c.data.GATEWAY_ROUTES_FILE).find(Boolean);
  expect(path, 'GATEWAY_ROUTES_FILE').toMatch(/^\//);
  const mount = container.volumeMounts.find((m: Manifest) => path.startsWith(`${m.mountPath}/`));
  expect(mount?.readOnly).toBe(true);
  const volume = pod.volumes.find((v: Manifest) => v.name === mount.name);
  const configMap = find(manifests, 'ConfigMap', new RegExp(`^${volume.configMap.name}$`));
  return {
    deployment,
    document: parse(configMap.data[posix.relative(mount.mountPath, path)]),
  };
}

describe('the routing policy in every deployment', () => {
  it('kustomize generates the ConfigMap from the repository file and mounts it where GATEWAY_ROUTES_FILE points', () => {
    expect(mountedRoutes(parseManifests(rendered.plain())).document).toEqual(routes);
  });

  it('helm renders gateway.routes, by default equal to the repository file', () => {
    expect(mountedRoutes(parseManifests(rendered.helmDefault())).document).toEqual(routes);
  });

  it('helm renders custom gateway.routes into the file, and its checksum rolls the pods', () => {
    const custom = structuredClone(routes);
    custom.upstreams.users = 'http://users:8083';
    custom.routes.unshift({
      prefix: '/api/users',
      upstream: 'monolith',
      migrate: { flag: 'users', to: 'users' },
    });
    custom.flags.users = { methods: ['GET', 'HEAD'] };
    const values = join(mkdtempSync(join(tmpdir(), 'routes-values-')), 'values.yaml');
    writeFileSync(values, JSON.stringify({ gateway: { routes: custom } }));
    const { deployment, document } = mountedRoutes(parseManifests(helmTemplate('-f', values)));
    expect(document).toEqual(custom);
    const checksum = (d: Manifest) => d.spec.template.metadata.annotations['checksum/routes'];
    const before = find(parseManifests(rendered.helmDefault()), 'Deployment', /gateway$/);
    expect(checksum(deployment)).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(deployment)).not.toBe(checksum(before));
  });

  it('compose mounts the same file at GATEWAY_ROUTES_FILE', () => {
    const compose = parse(readFileSync(join(repoRoot, 'compose.yaml'), 'utf8'), { merge: true });
    const gateway = compose.services.gateway;
    const path = gateway.environment.GATEWAY_ROUTES_FILE;
    expect(gateway.volumes).toContain(`./${ROUTES_FILE}:${path}:ro`);
  });

  it('scripts/stack starts the gateway on the same file', () => {
    const stack = readFileSync(join(repoRoot, 'scripts/stack'), 'utf8');
    expect(stack).toContain(`export GATEWAY_ROUTES_FILE=\${GATEWAY_ROUTES_FILE:-$ROOT/${ROUTES_FILE}}`);
  });
});
