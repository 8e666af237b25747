import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Manifest, parseManifests, rendered, repoRoot } from './tools.js';

const gatewayOf = (manifests: Manifest[]) => {
  const deployment = manifests.find((m) => m.kind === 'Deployment' && /gateway$/.test(m.metadata.name));
  const pod = deployment?.spec.template.spec;
  return { pod, container: pod.containers.find((c: Manifest) => c.name === 'gateway') };
};

/** ADMIN_TOKENS_FILE of the gateway, from its env or the ConfigMaps it takes its env from. */
function adminTokensFile(manifests: Manifest[]): string | undefined {
  const { container } = gatewayOf(manifests);
  const direct = (container.env ?? []).find((e: Manifest) => e.name === 'ADMIN_TOKENS_FILE')?.value;
  const configs = (container.envFrom ?? []).map((source: Manifest) =>
    manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === source.configMapRef.name),
  );
  return direct ?? configs.map((c: Manifest) => c?.data.ADMIN_TOKENS_FILE).find(Boolean);
}

/** Where ADMIN_TOKENS_FILE points: which Secret and key, through which mount. */
function mountedTokens(manifests: Manifest[]) {
  const { pod, container } = gatewayOf(manifests);
  const path = adminTokensFile(manifests);
  expect(path, 'ADMIN_TOKENS_FILE').toMatch(/^\//);
  const mount = container.volumeMounts.find((m: Manifest) => path!.startsWith(`${m.mountPath}/`));
  const volume = pod.volumes.find((v: Manifest) => v.name === mount?.name);
  const item = volume?.secret?.items?.find(
    (i: Manifest) => i.path === posix.relative(mount.mountPath, path!),
  );
  return { mount, secret: volume?.secret?.secretName, key: item?.key };
}

describe('the named operators file (ADMIN_TOKENS_FILE) in the deployments', () => {
  for (const [label, render, secret] of [
    ['kustomize, admin-tokens component', rendered.plainAdminTokens, 'cinemaabyss-admin-tokens'],
    ['helm, gateway.adminTokens.existingSecret', rendered.helmAdminTokens, 'ops-admin-tokens'],
  ] as const) {
    it(`${label}: mounts tokens.json of the Secret read-only as a directory where the file points`, () => {
      const { mount, secret: mounted, key } = mountedTokens(parseManifests(render()));
      expect({ secret: mounted, key }).toEqual({ secret, key: 'tokens.json' });
      // A subPath mount never sees a Secret change: rotation would need a restart.
      expect(mount).toMatchObject({ readOnly: true });
      expect(mount.subPath).toBeUndefined();
    });
  }

  it('is off by default: no file, no mount (the gateway would refuse to start without the Secret)', () => {
    for (const render of [rendered.plain, rendered.helmDefault, rendered.helmProduction]) {
      const manifests = parseManifests(render());
      expect(adminTokensFile(manifests)).toBeUndefined();
      expect(gatewayOf(manifests).pod.volumes.map((v: Manifest) => v.name)).not.toContain('admin-tokens');
    }
  });

  it('commits no real hash: the example Secret holds a placeholder', () => {
    const example = readFileSync(join(repoRoot, 'deploy/k8s/secret.example.yaml'), 'utf8');
    expect(example).toContain('name: cinemaabyss-admin-tokens');
    expect(example).not.toMatch(/[0-9a-f]{64}/);
  });
});
