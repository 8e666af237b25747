import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  endpoints,
  type Manifest,
  pinnedKafkaVersion,
  pinnedNodeVersion,
  repoRoot,
  run,
  tool,
} from './deploy/tools.js';

const dir = join(repoRoot, '.github/workflows');
const files = readdirSync(dir).filter((file) => /\.ya?ml$/.test(file));
const workflows = Object.fromEntries(
  files.map((file) => [file, parse(readFileSync(join(dir, file), 'utf8'), { merge: true }) as Manifest]),
);

describe('.github/workflows', () => {
  it('has the CI, image and chart pipelines', () => {
    expect(files.sort()).toEqual(['ci.yml', 'docker-build-push.yml', 'helm.yml']);
  });

  it('passes actionlint (expressions, action inputs, shell scripts when shellcheck is installed)', () => {
    const result = run(tool('actionlint'), [
      '-no-color',
      '-oneline',
      ...files.map((file) => join(dir, file)),
    ]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('fails actionlint on a broken workflow, so the check above can fail', () => {
    const root = mkdtempSync(join(tmpdir(), 'cinemaabyss-actionlint-'));
    mkdirSync(join(root, '.github/workflows'), { recursive: true });
    const file = join(root, '.github/workflows/broken.yml');
    writeFileSync(
      file,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a template
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n',
    );
    const result = run(tool('actionlint'), ['-no-color', '-oneline', file]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('nope');
  });

  it.each(files)('%s pins every action to an exact version', (file) => {
    const uses = [...readFileSync(join(dir, file), 'utf8').matchAll(/uses:\s*(\S+)/g)].map(
      (match) => match[1],
    );
    expect(uses.length).toBeGreaterThan(0);
    for (const action of uses) expect(action).toMatch(/@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/);
  });

  it.each(files)('%s grants least privilege and cancels superseded runs', (file) => {
    const workflow = workflows[file] as Manifest;
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(workflow.concurrency.group).toContain('github.ref');
    expect(workflow.concurrency['cancel-in-progress']).toBeTruthy();
    for (const [name, job] of Object.entries<Manifest>(workflow.jobs)) {
      const granted = Object.entries(job.permissions ?? {}).filter(([, level]) => level === 'write');
      const allowed = file === 'docker-build-push.yml' ? [['packages', 'write']] : [];
      expect(granted, `${file} job ${name}`).toEqual(allowed);
    }
  });

  it('sets up the Node line of the stack, the tests and the images (tools/node.sh) wherever Node is set up', () => {
    const versions = Object.values(workflows).flatMap((workflow) =>
      Object.values<Manifest>(workflow.jobs).flatMap((job) =>
        (job.steps as Manifest[])
          .filter((step) => step.uses?.startsWith('actions/setup-node'))
          .map((step) =>
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a template
            String(step.with['node-version']).replace('${{ env.NODE_VERSION }}', workflow.env?.NODE_VERSION),
          ),
      ),
    );
    expect(versions.length).toBeGreaterThan(0);
    expect(new Set(versions)).toEqual(new Set([pinnedNodeVersion().split('.')[0]]));
  });
});

describe('ci.yml', () => {
  const ci = workflows['ci.yml'] as Manifest;
  const test = ci.jobs.test;
  const commands = (job: Manifest) => job.steps.map((step: Manifest) => step.run ?? '').join('\n');

  it('runs on push and pull request with the pnpm cache', () => {
    expect(Object.keys(ci.on).sort()).toEqual(['pull_request', 'push']);
    const setupNode = ci.jobs.checks.steps.find((s: Manifest) => s.uses?.startsWith('actions/setup-node'));
    expect(setupNode.with.cache).toBe('pnpm');
    expect(commands(ci.jobs.checks)).toMatch(/pnpm lint[\s\S]*pnpm build[\s\S]*pnpm typecheck/);
  });

  it('tests against PostgreSQL, Redis and KRaft Kafka service containers, then end to end', () => {
    expect(Object.keys(test.services).sort()).toEqual(['kafka', 'postgres', 'redis']);
    expect(test.services.kafka.image).toBe(`apache/kafka:${pinnedKafkaVersion()}`);
    expect(test.services.kafka.env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(commands(test)).toMatch(
      /tools\/install-go-tools\.sh[\s\S]*vitest run[\s\S]*node dist\/server\.js/,
    );
    expect(commands(test)).toContain('pnpm test:e2e');
    // The services' ports and readiness paths come from their one source, never a copy in the workflow.
    expect(commands(test)).toContain('require("./deploy/services.json")');
    for (const { port } of Object.values(endpoints)) expect(commands(test)).not.toContain(String(port));
    const upload = test.steps.find((s: Manifest) => s.uses?.startsWith('actions/upload-artifact'));
    expect(upload.with.path).toBe('reports/');
    expect(upload.if).toContain('cancelled()');
  });
});

describe('docker-build-push.yml', () => {
  const workflow = workflows['docker-build-push.yml'] as Manifest;
  const job = workflow.jobs.image;
  const step = (action: string) => job.steps.find((s: Manifest) => s.uses?.startsWith(action));

  it('builds on main for service and package changes and on releases', () => {
    expect(workflow.on.push.branches).toEqual(['main']);
    expect(workflow.on.push.paths).toEqual(expect.arrayContaining(['services/**', 'packages/**']));
    expect(workflow.on.release.types).toEqual(['published']);
  });

  it('pushes all four images for amd64 and arm64 with SHA, latest and release tags and a layer cache', () => {
    expect(job.strategy.matrix.service).toEqual(['monolith', 'movies', 'events', 'gateway']);
    const build = step('docker/build-push-action');
    expect(build.with.platforms).toBe('linux/amd64,linux/arm64');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a template
    expect(build.with.file).toBe('services/${{ matrix.service }}/Dockerfile');
    expect(build.with['cache-from']).toContain('type=gha');
    const tags = step('docker/metadata-action').with.tags as string;
    expect(tags).toContain('type=sha');
    expect(tags).toContain('type=raw,value=latest,enable={{is_default_branch}}');
    expect(tags).toContain('type=semver,pattern={{version}}');
    expect(step('docker/login-action').with.registry).toBe('ghcr.io');
  });
});
