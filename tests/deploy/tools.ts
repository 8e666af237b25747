import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');

/** Where tools/install-go-tools.sh puts the binaries it builds. */
export const toolsBinDir =
  process.env.CINEMAABYSS_TOOLS_BIN ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'cinemaabyss/bin');

/** A built tool, from the install cache or PATH; a missing tool fails the test with the fix, never skips. */
export function tool(
  name: 'helm' | 'actionlint' | 'cinemaabyss-validate' | 'prometheus' | 'promtool',
): string {
  const candidates = [toolsBinDir, ...(process.env.PATH ?? '').split(delimiter)].map((dir) =>
    join(dir, name),
  );
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(`${name} not found in ${toolsBinDir} or PATH: run tools/install-go-tools.sh first`);
  }
  return found;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): RunResult {
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command that must succeed and returns its standard output; the error carries its stderr. */
export function runOk(command: string, args: string[]): string {
  const result = run(command, args);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stderr || result.stdout}`,
    );
  }
  return result.stdout;
}

/** Manifests are untyped YAML: the tests navigate them freely. */
// biome-ignore lint/suspicious/noExplicitAny: a parsed YAML document of any kind; tests check its shape
export type Manifest = Record<string, any>;

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) throw document.errors[0];
      return document.toJS() as Manifest | null;
    })
    .filter((manifest): manifest is Manifest => manifest !== null && typeof manifest === 'object');
}

export const chart = 'deploy/helm/cinemaabyss';

export function helmTemplate(...args: string[]): string {
  return runOk(tool('helm'), ['template', 'cinemaabyss', chart, '--namespace', 'cinemaabyss', ...args]);
}

/** deploy/k8s with its admin-tokens component, as an overlay of one's own would list it. */
function kustomizeWithAdminTokens(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cinemaabyss-overlay-'));
  const base = relative(dir, join(repoRoot, 'deploy/k8s'));
  const overlay = { resources: [base], components: [`${base}/admin-tokens`] };
  writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(overlay));
  return runOk(tool('cinemaabyss-validate'), ['kustomize', dir]);
}

export const rendered = {
  plain: () => runOk(tool('cinemaabyss-validate'), ['kustomize', 'deploy/k8s']),
  plainAdminTokens: kustomizeWithAdminTokens,
  helmDefault: () => helmTemplate(),
  helmProduction: () => helmTemplate('-f', `${chart}/values-production.yaml`),
  helmAdminTokens: () => helmTemplate('--set', 'gateway.adminTokens.existingSecret=ops-admin-tokens'),
};

/** The broker version the native stack runs (tools/kafka/pom.xml); images must match it. */
export function pinnedKafkaVersion(): string {
  const pom = readFileSync(join(repoRoot, 'tools/kafka/pom.xml'), 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  if (!version) throw new Error('tools/kafka/pom.xml has no <kafka.version>');
  return version;
}

/** The one Node version of the stack, the tests and the images: tools/node.sh's pin. */
export function pinnedNodeVersion(): string {
  const script = readFileSync(join(repoRoot, 'tools/node.sh'), 'utf8');
  const version = /^CINEMAABYSS_NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(script)?.[1];
  if (!version) throw new Error('tools/node.sh has no CINEMAABYSS_NODE_VERSION=<x.y.z>');
  return version;
}

export const serviceNames = ['monolith', 'movies', 'events', 'gateway'] as const;
export type ServiceName = (typeof serviceNames)[number];

/**
 * Port, liveness and readiness path of each service: deploy/services.json, their one source. scripts/stack and
 * CI read it; the manifests, the chart, compose and the Dockerfiles are checked against it, and
 * tests/services.test.ts checks it against the services themselves.
 */
export const endpoints: Record<ServiceName, { port: number; liveness: string; readiness: string }> =
  JSON.parse(readFileSync(join(repoRoot, 'deploy/services.json'), 'utf8'));

/** The gateway's upstream URL variable of each service behind it. */
export const upstreamUrlVariables: Record<Exclude<ServiceName, 'gateway'>, string> = {
  monolith: 'MONOLITH_URL',
  movies: 'MOVIES_SERVICE_URL',
  events: 'EVENTS_SERVICE_URL',
};

/** The Debezium version the native Connect worker runs (tools/connect/pom.xml); images must match it. */
export function pinnedDebeziumVersion(): string {
  const pom = readFileSync(join(repoRoot, 'tools/connect/pom.xml'), 'utf8');
  const version = /<debezium\.version>([^<]+)<\/debezium\.version>/.exec(pom)?.[1];
  if (!version) throw new Error('tools/connect/pom.xml has no <debezium.version>');
  return version;
}

/** The Kafka Connect worker: port, readiness path, heap and settings, deploy/connect/worker.json (one source). */
export const connectWorker: {
  port: number;
  readiness: string;
  heap: string;
  settings: Record<string, string>;
} = JSON.parse(readFileSync(join(repoRoot, 'deploy/connect/worker.json'), 'utf8'));

/** Worker settings the Debezium image takes under a name of its own; any other as CONNECT_<SETTING>. */
const connectImageNames: Record<string, string> = {
  'bootstrap.servers': 'BOOTSTRAP_SERVERS',
  'group.id': 'GROUP_ID',
  'config.storage.topic': 'CONFIG_STORAGE_TOPIC',
  'offset.storage.topic': 'OFFSET_STORAGE_TOPIC',
  'status.storage.topic': 'STATUS_STORAGE_TOPIC',
  // The image defaults it (60 s) under this name, which a CONNECT_ variable would have to race.
  'offset.flush.interval.ms': 'OFFSET_FLUSH_INTERVAL_MS',
  'key.converter': 'KEY_CONVERTER',
  'value.converter': 'VALUE_CONVERTER',
};

/** deploy/connect/worker.json's settings as the Debezium image's environment, plus its heap. */
export function connectImageEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [setting, value] of Object.entries(connectWorker.settings)) {
    const name = connectImageNames[setting] ?? `CONNECT_${setting.toUpperCase().replaceAll('.', '_')}`;
    env[name] = value;
  }
  env.HEAP_OPTS = `-Xms${connectWorker.heap} -Xmx${connectWorker.heap}`;
  return env;
}

/** The connector's config file scripts/stack registers, and its name. */
export const connectorFile = 'deploy/connect/cinemaabyss-movies.json';
export const connectorName: string = JSON.parse(readFileSync(join(repoRoot, connectorFile), 'utf8')).name;

/**
 * movies-sync, the movies package's other process: its port is its config's default (the one source scripts/stack
 * reads), its probe paths those of services/movies/src/sync/app.ts (tests/services.test.ts checks both).
 */
export async function syncEndpoints(): Promise<{ port: number; liveness: string; readiness: string }> {
  const { configSchema } = await import(
    /* @vite-ignore */ join(repoRoot, 'services/movies/src/sync/config.ts')
  );
  return { port: configSchema.parse({}).PORT, liveness: '/health', readiness: '/ready' };
}

/** What scripts/stack sets on the native PostgreSQL for change data capture (ALTER SYSTEM). */
export function stackCaptureSettings(): Record<string, string> {
  const script = readFileSync(join(repoRoot, 'scripts/stack'), 'utf8');
  const settings = Object.fromEntries(
    [...script.matchAll(/ALTER SYSTEM SET (\w+) = '([^']+)'/g)].map((match) => [match[1], match[2]]),
  );
  if (!settings.wal_level || !settings.max_slot_wal_keep_size) {
    throw new Error('scripts/stack sets no wal_level and max_slot_wal_keep_size with ALTER SYSTEM');
  }
  return settings;
}
