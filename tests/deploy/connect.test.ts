import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './tools.js';

// The capture's committed configuration (docs/data.md#capture): the connector file carries no credentials and
// names only variables the local worker is given, and the worker's settings are the ones its file declares.
const connector: Record<string, string> = JSON.parse(
  readFileSync(join(repoRoot, 'deploy/connect/cinemaabyss-movies.json'), 'utf8'),
);
const worker = JSON.parse(readFileSync(join(repoRoot, 'deploy/connect/worker.json'), 'utf8')) as {
  port: number;
  settings: Record<string, string>;
};
const connectScript = readFileSync(join(repoRoot, 'tools/connect/connect.sh'), 'utf8');

/** `${env:NAME}` references in a value. */
function envReferences(value: string): string[] {
  return [...value.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1] ?? '');
}

describe('deploy/connect/cinemaabyss-movies.json', () => {
  it('names the database only through the worker environment, never a literal credential', () => {
    const database = Object.entries(connector).filter(([key]) => key.startsWith('database.'));
    expect(database.map(([key]) => key).sort()).toEqual([
      'database.dbname',
      'database.hostname',
      'database.password',
      'database.port',
      'database.user',
    ]);
    for (const [key, value] of database) expect(value, key).toMatch(/^\$\{env:CDC_DATABASE_[A-Z]+\}$/);
  });

  it('references only variables tools/connect/connect.sh exports to the worker', () => {
    const referenced = Object.values(connector).flatMap(envReferences);
    expect(referenced.length).toBeGreaterThan(0);
    const exported = /^\s*export (CDC_DATABASE_[A-Z_ ]+)$/m.exec(connectScript)?.[1]?.split(' ') ?? [];
    for (const name of referenced) expect(exported, name).toContain(name);
  });

  it('routes the four tables and the transaction markers, and nothing else, into one stream', () => {
    const pattern = new RegExp(`^(?:${connector['transforms.onestream.regex']})$`);
    const prefix = connector['topic.prefix'];
    const tables = (connector['table.include.list'] ?? '').split(',');
    expect(tables).toEqual(['public.movies', 'public.genres', 'public.movie_genres', 'public.cdc_heartbeat']);
    for (const topic of [...tables.map((table) => `${prefix}.${table}`), `${prefix}.transaction`])
      expect(topic).toMatch(pattern);
    for (const topic of [
      `${prefix}.public.users`,
      `__debezium-heartbeat.${prefix}`,
      `${prefix}.public.moviesx`,
    ])
      expect(topic).not.toMatch(pattern);
    expect(connector['transforms.onestream.replacement']).toBe('cinemaabyss.movies.cdc');
    expect(connector['topic.creation.default.partitions']).toBe('1');
  });
});

describe('deploy/connect/worker.json', () => {
  it('resolves env references with the worker config providers, and converts without schemas', () => {
    const { settings } = worker;
    const providers = (settings['config.providers'] ?? '').split(',');
    expect(providers).toContain('env');
    expect(settings['config.providers.env.class']).toBe(
      'org.apache.kafka.common.config.provider.EnvVarConfigProvider',
    );
    expect(settings['key.converter.schemas.enable']).toBe('false');
    expect(settings['value.converter.schemas.enable']).toBe('false');
  });
});
