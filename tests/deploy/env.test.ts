import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Manifest, parseManifests, rendered, repoRoot } from './tools.js';

const services = ['monolith', 'movies', 'movies-sync', 'events', 'gateway'] as const;
type Service = (typeof services)[number];

/** Variables that point a service at its neighbours: every deployment must set them, defaults are loopback. */
const wiring: Record<Service, string[]> = {
  monolith: ['PORT', 'DATABASE_URL', 'DB_MIGRATE_ON_START'],
  movies: ['PORT', 'DATABASE_URL', 'DB_MIGRATE_ON_START', 'MONOLITH_URL'],
  'movies-sync': [
    'PORT',
    'DATABASE_URL',
    'KAFKA_BROKERS',
    'SYNC_TOPIC',
    'SYNC_GROUP_ID',
    // The parity checker and data status (docs/data.md#settings).
    'SOURCE_DATABASE_URL',
    'REDIS_URL',
    'CONNECT_URL',
  ],
  events: ['PORT', 'KAFKA_BROKERS'],
  gateway: ['PORT', 'MONOLITH_URL', 'MOVIES_SERVICE_URL', 'EVENTS_SERVICE_URL', 'REDIS_URL'],
};
/** Helpers a container gets only to build another variable (Kubernetes expands $(POSTGRES_PASSWORD)). */
const helperVariables = new Set(['POSTGRES_PASSWORD', 'MOVIES_DB_PASSWORD', 'CDC_DB_PASSWORD']);
/** Where each one's config schema is: movies-sync is the movies package's other process. */
const configModule = (name: Service) =>
  name === 'movies-sync' ? 'movies/src/sync/config.ts' : `${name}/src/config.ts`;

/** The part of a service's zod `configSchema` these checks use. */
interface ConfigSchema {
  shape: Record<string, { safeParse(value: unknown): { success: boolean } }>;
}

async function schemaOf(name: Service): Promise<ConfigSchema> {
  return (await import(/* @vite-ignore */ join(repoRoot, 'services', configModule(name)))).configSchema;
}

/** Variables the service cannot start without: those whose schema rejects "not set". */
function requiredKeys(schema: ConfigSchema): string[] {
  return Object.entries(schema.shape)
    .filter(([, field]) => !field.safeParse(undefined).success)
    .map(([key]) => key);
}

function composeEnv(name: Service): string[] {
  const compose = parse(readFileSync(join(repoRoot, 'compose.yaml'), 'utf8'), { merge: true });
  return Object.keys(compose.services[name].environment);
}

function kubernetesEnv(manifests: Manifest[], name: Service): string[] {
  const deployment = manifests.find(
    (m) => m.kind === 'Deployment' && m.metadata.labels['app.kubernetes.io/name'] === name,
  );
  if (!deployment) throw new Error(`no Deployment for ${name}`);
  const [container] = deployment.spec.template.spec.containers;
  const fromConfigMaps = (container.envFrom ?? []).flatMap((source: Manifest) => {
    const configMap = manifests.find(
      (m) => m.kind === 'ConfigMap' && m.metadata.name === source.configMapRef?.name,
    );
    if (!configMap)
      throw new Error(`${name}: envFrom ConfigMap ${source.configMapRef?.name} is not rendered`);
    return Object.keys(configMap.data);
  });
  const direct = (container.env ?? []).map((variable: Manifest) => variable.name);
  return [...fromConfigMaps, ...direct].filter((key) => !helperVariables.has(key));
}

describe('environment variables: every deployment sets what the services read', () => {
  let plain: Manifest[];
  let helm: Manifest[];
  beforeAll(() => {
    plain = parseManifests(rendered.plain());
    helm = parseManifests(rendered.helmDefault());
  });

  describe.each(services)('%s', (name) => {
    const sources = () => ({
      'compose.yaml': composeEnv(name),
      'deploy/k8s': kubernetesEnv(plain, name),
      'helm chart': kubernetesEnv(helm, name),
    });

    it('sets only variables its config schema knows (no typos, nothing stale)', async () => {
      const known = Object.keys((await schemaOf(name)).shape);
      for (const [where, keys] of Object.entries(sources())) {
        expect(
          keys.filter((key) => !known.includes(key)),
          where,
        ).toEqual([]);
      }
    });

    it('sets every required variable and the wiring to its neighbours', async () => {
      const needed = [...requiredKeys(await schemaOf(name)), ...wiring[name]];
      for (const [where, keys] of Object.entries(sources())) {
        expect(
          needed.filter((key) => !keys.includes(key)),
          where,
        ).toEqual([]);
      }
    });

    it('sets the same variables in compose, the plain manifests and the chart', () => {
      const { 'compose.yaml': compose, ...kubernetes } = sources();
      for (const [where, keys] of Object.entries(kubernetes)) {
        expect([...keys].sort(), where).toEqual([...compose].sort());
      }
    });
  });
});
