#!/usr/bin/env node
// Prints, one per line, the `podman run` arguments that run a container the way a rendered Kubernetes path runs
// it (`kustomize build deploy/k8s` or `helm template` of the chart, as given): user, read-only root, emptyDir
// mounts as the only tmpfs, ConfigMap volumes as read-only files, capabilities, no new privileges, limits,
// grace period, command and the whole environment (ConfigMaps, Secrets, $(VAR) expansion). The Deployment is
// the one whose pods carry app.kubernetes.io/name=<app>. Host networking and the native stack's stand-ins as
// in standins.mjs. Secret values come from this process's environment under the Secret's key
// (POSTGRES_PASSWORD, ADMIN_TOKEN): they are the installation's, not the path's. Anything in a manifest this
// cannot reproduce faithfully is an error, never skipped.
//
//   node tests/images/manifests.mjs <rendered.yaml> <app> <container> <image> --files DIR [--port-offset N]
//     [--schema NAME] [--redis-db N] [--override KEY=VALUE]...
//   node tests/images/manifests.mjs <rendered.yaml> --stand-ins
//     one line per workload or Job the path runs from a third-party image: "<kind>/<name> <images> <host>:<port>..."
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { applyOverrides, envArgs, fail, rewriter } from './standins.mjs';

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'port-offset': { type: 'string', default: '0' },
    files: { type: 'string' },
    schema: { type: 'string' },
    'redis-db': { type: 'string' },
    override: { type: 'string', multiple: true },
    'stand-ins': { type: 'boolean', default: false },
  },
});
const objects = parseAllDocuments(readFileSync(positionals[0] ?? fail('no rendered manifests given'), 'utf8'))
  .map((document) => document.toJS())
  .filter(Boolean);
const find = (kind, name) => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) fail(`no ${kind} ${name} in ${positionals[0]}`);
  return found;
};
// The project's images: the four services and movies-sync (the movies image's other entry).
const SERVICES = ['gateway', 'monolith', 'movies', 'movies-sync', 'events'];
const appOf = (object) => object.spec?.template?.metadata?.labels?.['app.kubernetes.io/name'];
const services = objects.filter((object) => object.kind === 'Service');
const selecting = (workload) =>
  services.filter((service) => service.spec.selector?.['app.kubernetes.io/name'] === appOf(workload));

if (options['stand-ins']) {
  // Workloads from images that are not the project's: the native stack serves their Services' ports (and did
  // what their Jobs do: scripts/stack registers the connector).
  for (const workload of objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))) {
    if (SERVICES.includes(appOf(workload))) continue;
    const { initContainers = [], containers } = workload.spec.template.spec;
    const images = [...initContainers, ...containers].map((c) => c.image).join(',');
    const endpoints = selecting(workload).flatMap((s) =>
      s.spec.ports.map((p) => `${s.metadata.name}:${p.port}`),
    );
    console.log(`${workload.kind}/${workload.metadata.name} ${images} ${endpoints.join(' ')}`);
  }
  process.exit(0);
}
if (positionals.length !== 4 || !options.files) {
  fail('usage: manifests.mjs <rendered.yaml> <app> <container> <image> --files DIR [--port-offset N] ...');
}
const [, appName, containerName, image] = positionals;
const portOffset = Number(options['port-offset']);

const deployment = objects.find((object) => object.kind === 'Deployment' && appOf(object) === appName);
if (!deployment) fail(`no Deployment of app.kubernetes.io/name=${appName} in ${positionals[0]}`);
const pod = deployment.spec.template.spec;
const container = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === containerName);
if (!container) fail(`no container ${containerName} in Deployment ${deployment.metadata.name}`);

// The four services' ports (by their Services), shifted; PostgreSQL, Redis and Kafka keep theirs.
const shifted = new Map();
for (const app of SERVICES) {
  const workload = objects.find((object) => object.kind === 'Deployment' && appOf(object) === app);
  if (!workload) continue;
  for (const service of selecting(workload)) {
    for (const { port } of service.spec.ports) shifted.set(String(port), String(port + portOffset));
  }
}
const rewrite = rewriter({
  hosts: new Map(services.map((service) => [service.metadata.name, 0])),
  shifted,
  schema: options.schema,
  redisDb: options['redis-db'],
});

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
for (const [key, value] of env) env.set(key, rewrite(value));
if (env.has('PORT')) env.set('PORT', shifted.get(env.get('PORT')) ?? env.get('PORT'));
applyOverrides(env, options.override);

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
    // The ConfigMap's keys as read-only files under the mount path, written where --files says.
    if (!mount.readOnly || mount.subPath) fail(`volume ${mount.name}: only read-only whole ConfigMaps`);
    const { data } = find('ConfigMap', volume.configMap.name);
    const items = volume.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    const dir = join(options.files, containerName, mount.name);
    mkdirSync(dir, { recursive: true });
    for (const { key, path } of items) {
      if (path.includes('/')) fail(`volume ${mount.name}: nested item paths are not supported`);
      // Rewritten like every other setting: the routing file names upstreams too.
      writeFileSync(join(dir, path), rewrite(data[key]));
      args.push(`--volume=${join(dir, path)}:${mount.mountPath}/${path}:ro`);
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
args.push(...envArgs(env));
if (container.command) args.push(`--entrypoint=${JSON.stringify(container.command)}`);
// Another entry than the image's (movies-sync in the movies image): the image's HEALTHCHECK checks the image's
// own entry, so the container is checked as the manifest checks it, by its readiness probe.
const probe = container.readinessProbe?.httpGet;
if (container.command && probe && pod.containers.includes(container)) {
  const port = probe.port === 'http' ? env.get('PORT') : String(probe.port);
  const url = `http://127.0.0.1:${port}${probe.path}`;
  const check = `fetch('${url}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  args.push(`--health-cmd=${JSON.stringify(['node', '-e', check])}`);
}
args.push(image, ...(container.args ?? []));
console.log(args.join('\n'));
