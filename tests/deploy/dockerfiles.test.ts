import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { endpoints, pinnedNodeVersion, repoRoot } from './tools.js';

// Port and liveness path from deploy/services.json: the image's HEALTHCHECK restarts a hung process only.
describe.each(Object.entries(endpoints))('services/%s/Dockerfile', (name, { port, liveness: health }) => {
  const text = readFileSync(join(repoRoot, `services/${name}/Dockerfile`), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);
  const final = stages.at(-1) ?? '';

  it('pins a slim or alpine base of the one Node the stack and the tests run (tools/node.sh)', () => {
    const version = pinnedNodeVersion().replaceAll('.', '\\.');
    expect(version).toMatch(/^24\\\./);
    expect(text).toMatch(
      new RegExp(`^ARG NODE_IMAGE=node:${version}-(bookworm-slim|slim|alpine3\\.\\d+)$`, 'm'),
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ${NODE_IMAGE}, not a template
    for (const stage of stages) expect(stage.startsWith('${NODE_IMAGE}')).toBe(true);
  });

  it('builds in one stage and ships a pruned production install in the next', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(text).toContain(`pnpm --filter @cinemaabyss/${name} deploy --prod`);
    expect(final).not.toMatch(/^COPY (?!--from=build)/m);
    expect(final).not.toMatch(/^RUN /m);
  });

  it('has every file `pnpm fetch` reads in place before it runs (the lockfile, the workspace, its patches)', () => {
    const fetchAt = text.indexOf('pnpm fetch');
    const before = text.slice(0, fetchAt);
    expect(fetchAt).toBeGreaterThan(0);
    expect(before).toMatch(/^COPY package\.json pnpm-lock\.yaml pnpm-workspace\.yaml \.\/$/m);
    const workspace = parse(readFileSync(join(repoRoot, 'pnpm-workspace.yaml'), 'utf8'));
    for (const patch of Object.values<string>(workspace.patchedDependencies ?? {})) {
      const dir = patch.split('/')[0];
      expect(before).toMatch(new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
    }
  });

  it('runs as a non-root user in production mode', () => {
    expect(final).toMatch(/^ENV NODE_ENV=production/m);
    const user = /^USER (\S+)/m.exec(final)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  it('health-checks its own endpoint without curl and execs node directly (signals reach it)', () => {
    expect(final).toMatch(new RegExp(`ENV .*PORT=${port}`));
    expect(final).toContain(`EXPOSE ${port}`);
    expect(final).toMatch(new RegExp(`HEALTHCHECK [\\s\\S]*CMD \\["node", "-e", "fetch\\([^\\n]*${health}`));
    expect(final.trimEnd().split('\n').at(-1)).toBe('CMD ["node", "dist/server.js"]');
  });

  it('has no architecture-specific step (buildx builds amd64 and arm64 from it)', () => {
    const instructions = text.split('\n').filter((line) => !line.startsWith('#'));
    expect(instructions.join('\n')).not.toMatch(/amd64|arm64|x86_64|aarch64|--platform/);
  });
});

describe('.dockerignore', () => {
  it('keeps dependencies, build output, git, secrets and test config out of the build context', () => {
    const lines = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.git', '.env', '**/vitest.config.ts']) {
      expect(lines).toContain(entry);
    }
  });
});
