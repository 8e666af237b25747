import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildCollection,
  collectionPath,
  contractSchemas,
  type JsonSchema,
  type PostmanItem,
  UNCHECKED_ON_INPUT,
  unleashBucket,
} from './collection.mjs';

// Checks of the collection itself, no stack needed: it is current, its scripts parse, its bucketing
// matches Unleash, and the environments agree.

const collection = buildCollection();

function* requests(
  items: PostmanItem[],
  guarded = false,
  path: string[] = [],
): Generator<{
  item: PostmanItem;
  guarded: boolean;
  path: string;
}> {
  for (const item of items) {
    const skips = (item.event ?? []).some(
      (e) => e.listen === 'prerequest' && e.script.exec.join('\n').includes('pm.execution.skipRequest()'),
    );
    if (item.item) yield* requests(item.item, guarded || skips, [...path, item.name]);
    else yield { item, guarded, path: [...path, item.name].join(' / ') };
  }
}

describe('Postman collection', () => {
  it('is committed as collection.mjs builds it (run `node tests/postman/collection.mjs` after a change)', () => {
    expect(JSON.parse(readFileSync(collectionPath, 'utf8'))).toEqual(collection);
  });

  it('has the folders of issue 5 in order', () => {
    expect(collection.item.map((f) => f.name)).toEqual([
      'Monolith',
      'Movies service',
      'Events service',
      'Gateway',
      'Migration',
      'Bad input',
    ]);
  });

  it('has unique folder names, so --folder NAME is unambiguous', () => {
    const names: string[] = [];
    const walk = (items: PostmanItem[]) => {
      for (const item of items) {
        if (!item.item) continue;
        names.push(item.name);
        walk(item.item);
      }
    };
    walk(collection.item);
    expect(new Set(names).size).toBe(names.length);
  });

  it('has scripts that parse as JavaScript', () => {
    const all = [...requests(collection.item)].flatMap(({ item, path }) =>
      (item.event ?? []).map((e) => ({ path: `${path} (${e.listen})`, code: e.script.exec.join('\n') })),
    );
    expect(all.length).toBeGreaterThan(50);
    for (const { path, code } of all) expect(() => new Function(code), path).not.toThrow();
  });

  it('names the service in every assertion', () => {
    for (const { item, path } of requests(collection.item)) {
      const test = item.event?.find((e) => e.listen === 'test')?.script.exec.join('\n') ?? '';
      expect(test, path).toMatch(
        /^const where = "(monolith|movies service|events service|gateway|migration|admin API): /,
      );
    }
  });

  it('lets every service-direct request be skipped where only the ingress is reachable', () => {
    for (const { item, guarded, path } of requests(collection.item)) {
      if (/\{\{(monolith|movies|events)_url\}\}/.test(item.request?.url ?? ''))
        expect(guarded, path).toBe(true);
    }
  });

  it("buckets users as Unleash does (its published vectors: normalizedValue('123','gr1') = 73, ('999','groupX') = 25)", () => {
    const murmur3 = new Function(`${unleashBucket}; return murmur3;`)() as (
      key: string,
      seed: number,
    ) => number;
    const normalized = (id: string, group: string) => (murmur3(`${group}:${id}`, 0) % 100) + 1;
    expect(normalized('123', 'gr1')).toBe(73);
    expect(normalized('999', 'groupX')).toBe(25);
    expect(murmur3('hello', 0)).toBe(0x248bfa47);
    expect(murmur3('', 0)).toBe(0);
  });
});

describe('Postman list schemas', () => {
  const schemas = contractSchemas();
  const formats = (schema: JsonSchema): string[] =>
    Object.values(schema.properties ?? {}).flatMap((property) => (property.format ? [property.format] : []));

  it('hold on any row the system legally stores: only the formats the services write themselves', () => {
    for (const list of ['Users', 'Movies', 'Payments', 'Subscriptions']) {
      const items = schemas[list]?.items as JsonSchema;
      expect(formats(items), list).toEqual(formats(items).filter((format) => format === 'date-time'));
    }
    expect(schemas.Users?.items?.properties?.email).toEqual({ type: 'string' });
  });

  it('leave out only what the original never checked: one row read back still meets the whole contract', () => {
    expect(UNCHECKED_ON_INPUT).toEqual({ User: ['email'] });
    expect(schemas.User?.properties?.email).toEqual({ type: 'string', format: 'email' });
    const { properties: listed, ...listedRest } = (schemas.Users?.items ?? {}) as JsonSchema;
    const { properties: whole, ...wholeRest } = schemas.User as JsonSchema;
    expect(listedRest).toEqual(wholeRest);
    expect({ ...listed, email: whole?.email }).toEqual(whole);
  });
});

describe('Postman environments', () => {
  const dir = join(import.meta.dirname, 'environments');
  const environments: Record<string, Record<string, string>> = {};
  for (const file of readdirSync(dir)) {
    const env = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      values: { key: string; value: string }[];
    };
    environments[file.split('.')[0]!] = Object.fromEntries(env.values.map((v) => [v.key, v.value]));
  }

  it('are local, docker and kubernetes with the same variables and no committed admin token', () => {
    expect(Object.keys(environments).sort()).toEqual(['docker', 'kubernetes', 'local']);
    for (const env of Object.values(environments)) {
      expect(Object.keys(env).sort()).toEqual(Object.keys(environments.local!).sort());
      expect(env.admin_token).toBe('');
    }
  });

  it('point at the loopback ports, the compose service names and the ingress host', () => {
    expect(environments.local).toMatchObject({
      gateway_url: 'http://localhost:8000',
      monolith_url: 'http://localhost:8080',
      movies_url: 'http://localhost:8081',
      events_url: 'http://localhost:8082',
      direct_access: 'true',
    });
    expect(environments.docker).toMatchObject({
      gateway_url: 'http://gateway:8000',
      monolith_url: 'http://monolith:8080',
      movies_url: 'http://movies:8081',
      events_url: 'http://events:8082',
      direct_access: 'true',
    });
    expect(environments.kubernetes).toMatchObject({
      gateway_url: 'http://cinemaabyss.example.com',
      direct_access: 'false',
    });
  });
});
