import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './deploy/tools.js';

const dir = join(repoRoot, 'docs/architecture');
const source = readFileSync(join(dir, 'c4-container.puml'), 'utf8');
const svg = readFileSync(join(dir, 'c4-container.svg'), 'utf8');

describe('docs/architecture C4 container diagram', () => {
  it('has an SVG rendered from the current source (run `pnpm docs:diagram` after editing the .puml)', () => {
    const expected = createHash('sha256').update(source).digest('hex');
    const stamped = /^<!-- source: c4-container\.puml sha256:([0-9a-f]{64}) -->/.exec(svg)?.[1];
    expect(stamped, 'SVG carries no source stamp: regenerate it with pnpm docs:diagram').toBeDefined();
    expect(stamped, 'SVG is stale: regenerate it with pnpm docs:diagram').toBe(expected);
    expect(svg).toContain('<svg');
  });

  it('uses the C4 library and shows the people, the services, the data stores and the async edges', () => {
    expect(source).toContain('!include <C4/C4_Container>');
    for (const element of [
      'Person(viewer',
      'Person(operator',
      'Container(gateway',
      'Container(monolith',
      'Container(movies',
      'Container(events',
      'Container(users',
      'Container(payments',
      'Container(subscriptions',
      'ContainerDb(postgres',
      'ContainerDb(redis',
      'ContainerQueue(kafka',
    ]) {
      expect(source).toContain(element);
    }
    expect(source).toMatch(/Rel\(events, kafka, .*\$tags="async"\)/);
    // The rendered picture, not just the source, names every container (PlantUML emits one <text> per word).
    const words = [
      ...'Viewer Operator gateway Monolith Movies Events Users Payments Subscriptions'.split(' '),
    ];
    for (const word of [...words, 'PostgreSQL', 'Redis', 'Kafka']) {
      expect(svg).toContain(`>${word}<`);
    }
  });

  it('documents the migration story and the decisions, and links the diagram', () => {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('![C4 container diagram of CinemaAbyss](c4-container.svg)');
    for (const topic of [
      '## Flag semantics',
      '## Rollout procedure',
      '## Event flow',
      '## Decisions and reasons',
      'cinemaabyss:flag:movies',
      'X-User-Id',
      'KRaft',
      '0 → 20 → 50 → 80 → 100',
      'Rollback',
    ]) {
      expect(readme).toContain(topic);
    }
    for (const [, link] of readme.matchAll(/\]\((?!https?:)([^)#]+)/g)) {
      expect(existsSync(join(dir, link as string)), link).toBe(true);
    }
  });
});
