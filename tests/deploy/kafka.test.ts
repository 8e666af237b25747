import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Manifest, parseManifests, pinnedKafkaVersion, rendered, repoRoot } from './tools.js';

// Every broker the project describes runs the version tools/kafka pins, with settings the local broker itself
// runs: the server.properties that kafka.sh writes is started and tested by the events service's tests.
const localSettings = new Set(
  [...readFileSync(join(repoRoot, 'tools/kafka/kafka.sh'), 'utf8').matchAll(/^([a-z][a-z.]*)=/gm)].map(
    (match) => match[1],
  ),
);
// Read by the apache/kafka image itself, not broker settings.
const imageVariables = new Set(['CLUSTER_ID', 'KAFKA_HEAP_OPTS']);

function statefulSetKafka(text: string): { image: string; env: Record<string, string> } {
  const kafka = parseManifests(text).find((m) => m.kind === 'StatefulSet' && /kafka$/.test(m.metadata.name));
  const [container] = (kafka as Manifest).spec.template.spec.containers;
  return {
    image: container.image,
    env: Object.fromEntries(container.env.map((e: Manifest) => [e.name, e.value])),
  };
}

const brokers: Array<[string, () => { image: string; env: Record<string, unknown> }]> = [
  [
    'compose.yaml',
    () => {
      const compose = parse(readFileSync(join(repoRoot, 'compose.yaml'), 'utf8'));
      return { image: compose.services.kafka.image, env: compose.services.kafka.environment };
    },
  ],
  [
    '.github/workflows/ci.yml',
    () => {
      const ci = parse(readFileSync(join(repoRoot, '.github/workflows/ci.yml'), 'utf8'));
      const { image, env } = ci.jobs.test.services.kafka;
      return { image, env };
    },
  ],
  ['deploy/k8s', () => statefulSetKafka(rendered.plain())],
  ['helm chart', () => statefulSetKafka(rendered.helmDefault())],
];

describe.each(brokers)('Kafka in %s', (_where, broker) => {
  it('runs apache/kafka of the version tools/kafka/pom.xml pins', () => {
    expect(broker().image).toBe(`apache/kafka:${pinnedKafkaVersion()}`);
  });

  it('sets only broker settings the local broker runs (KRaft combined mode, no ZooKeeper)', () => {
    const { env } = broker();
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    for (const name of Object.keys(env)) {
      if (imageVariables.has(name)) continue;
      expect(name, name).toMatch(/^KAFKA_/);
      const setting = name.slice('KAFKA_'.length).toLowerCase().replaceAll('_', '.');
      expect(localSettings, name).toContain(setting);
    }
  });
});

it('reads the local broker settings, so the checks above can fail', () => {
  expect(localSettings).toContain('process.roles');
  expect(localSettings).toContain('controller.quorum.voters');
  expect(localSettings).not.toContain('zookeeper.connect');
});
