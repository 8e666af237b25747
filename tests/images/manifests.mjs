#!/usr/bin/env node
// Prints, one per line, the `podman run` arguments that run a container of deploy/k8s the way its manifest
// runs it: user, read-only root, emptyDir mounts as the only tmpfs, generated ConfigMaps as read-only files, capabilities, no new privileges, limits,
// grace period, command and the whole environment (ConfigMaps, Secrets, $(VAR) expansion). Host networking:
// the manifests' service host names become 127.0.0.1, and the ports of the four services move by
// --port-offset so they do not clash with the native stack. Secret values come from this process's
// environment under the Secret's key (POSTGRES_PASSWORD, ADMIN_TOKEN). Anything in a manifest this cannot
// reproduce faithfully is an error, never skipped.
//
//   node tests/images/manifests.mjs <deployment> <container> <image> [--port-offset N] [--set KEY=VALUE]...
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';

const k8s = join(dirname(fileURLToPath(import.meta.url)), '../../deploy/k8s');

function fail(message) {
  console.error(`manifests.mjs: ${message}`);
  process.exit(2);
}

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'port-offset': { type: 'string', default: '0' }, set: { type: 'string', multiple: true } },
});
if (positionals.length !== 3) fail('usage: manifests.mjs <deployment> <container> <image> [--port-offset N]');
const [deploymentName, containerName, image] = positionals;
const portOffset = Number(options['port-offset']);

const kustomization = parseAllDocuments(readFileSync(join(k8s, 'kustomization.yaml'), 'utf8'))[0].toJS();
const objects = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(join(k8s, file), 'utf8'))
    .map((document) => document.toJS())
    .filter(Boolean),
);
const find = (kind, name) => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) fail(`no ${kind} ${name} in deploy/k8s`);
  return found;
};

const deployment = find('Deployment', deploymentName);
const pod = deployment.spec.template.spec;
const container = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === containerName);
if (!container) fail(`no container ${containerName} in Deployment ${deploymentName}`);

// The four services' ports (by Service name), shifted; PostgreSQL, Redis and Kafka keep theirs.
const shifted = new Map();
for (const name of ['gateway', 'monolith', 'movies', 'events']) {
  const port = find('Service', name).spec.ports[0].port;
  shifted.set(String(port), String(port + portOffset));
}
const serviceNames = objects.filter((object) => object.kind === 'Service').map((s) => s.metadata.name);
const hostPattern = new RegExp(`\\b(${serviceNames.join('|')}):(\\d+)\\b`, 'g');
const toHost = (value) =>
  value.replace(hostPattern, (_, _name, port) => `127.0.0.1:${shifted.get(port) ?? port}`);

const env = new Map();
for (const source of container.envFrom ?? []) {
  if (!source.configMapRef) fail(`envFrom ${JSON.stringify(source)} is not a ConfigMap`);
  for (const [key, value] of Object.entries(find('ConfigMap', source.configMapRef.name).data)) {
    env.set(key, String(value));
  }
}
for (const entry of container.env ?? []) {
  if (entry.value !== undefined) {
    // Kubernetes expands $(VAR) from the variables defined before it.
    env.set(
      entry.name,
      entry.value.replace(/\$\((\w+)\)/g, (whole, name) => env.get(name) ?? whole),
    );
  } else if (entry.valueFrom?.secretKeyRef) {
    const { key, optional } = entry.valueFrom.secretKeyRef;
    const value = process.env[key];
    if (value) env.set(entry.name, value);
    else if (!optional) fail(`${entry.name} comes from a Secret: set ${key} in the environment`);
  } else {
    fail(`env ${entry.name}: only value and secretKeyRef are supported`);
  }
}
for (const [key, value] of env) env.set(key, toHost(value));
if (env.has('PORT')) env.set('PORT', shifted.get(env.get('PORT')) ?? env.get('PORT'));
for (const pair of options.set ?? []) {
  const at = pair.indexOf('=');
  if (at < 1) fail(`--set expects KEY=VALUE, got "${pair}"`);
  env.set(pair.slice(0, at), pair.slice(at + 1));
}

const security = { ...pod.securityContext, ...container.securityContext };
const args = ['--network=host', '--pull=never'];
if (security.runAsUser === undefined) fail('no runAsUser in the manifest');
args.push(`--user=${security.runAsUser}:${security.runAsGroup ?? security.runAsUser}`);
if (security.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
if (security.allowPrivilegeEscalation === false) args.push('--security-opt=no-new-privileges');
for (const cap of security.capabilities?.drop ?? []) args.push(`--cap-drop=${cap}`);
for (const cap of security.capabilities?.add ?? []) args.push(`--cap-add=${cap}`);
// Podman's default seccomp profile is the runtime default.
if (security.seccompProfile && security.seccompProfile.type !== 'RuntimeDefault') {
  fail(`seccompProfile ${security.seccompProfile.type} is not supported`);
}

// Kubernetes quantities as Podman takes them: 64Mi -> 64m, 500m CPU -> 0.5.
const bytes = (quantity) => {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(String(quantity));
  if (!match) fail(`cannot read the quantity ${quantity}`);
  return `${match[1]}${{ Ki: 'k', Mi: 'm', Gi: 'g' }[match[2]] ?? ''}`;
};
const cpus = (quantity) =>
  String(quantity).endsWith('m') ? parseInt(quantity, 10) / 1000 : Number(quantity);
for (const mount of container.volumeMounts ?? []) {
  const volume = pod.volumes.find((v) => v.name === mount.name);
  if (volume?.configMap) {
    // A ConfigMap the kustomization generates from files: each file mounted read-only under its key.
    const generator = (kustomization.configMapGenerator ?? []).find((g) => g.name === volume.configMap.name);
    if (!generator || !mount.readOnly) fail(`volume ${mount.name} is not a read-only generated ConfigMap`);
    for (const entry of generator.files) {
      const [key, file = key] = entry.split('=');
      args.push(`--volume=${join(k8s, file)}:${mount.mountPath}/${key}:ro`);
    }
    continue;
  }
  if (!volume?.emptyDir) fail(`volume ${mount.name} is neither an emptyDir nor a generated ConfigMap`);
  const size = volume.emptyDir.sizeLimit ? `,size=${bytes(volume.emptyDir.sizeLimit)}` : '';
  args.push(`--tmpfs=${mount.mountPath}:rw,mode=1777${size}`);
}
const limits = container.resources?.limits ?? {};
if (limits.memory) args.push(`--memory=${bytes(limits.memory)}`);
if (limits.cpu) args.push(`--cpus=${cpus(limits.cpu)}`);
args.push(`--stop-timeout=${pod.terminationGracePeriodSeconds ?? 30}`);
for (const [key, value] of env) {
  if (/\n/.test(value)) fail(`${key} holds a newline`);
  args.push(`--env=${key}=${value}`);
}
if (container.command) args.push(`--entrypoint=${JSON.stringify(container.command)}`);
args.push(image, ...(container.args ?? []));
console.log(args.join('\n'));
