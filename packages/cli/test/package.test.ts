import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = join(packageDir, '../..');
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };

describe('the package', () => {
  it('installs on its own from its tarball, with nothing from the workspace, and runs as cinemaabyss', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cinemaabyss-install-'));
    try {
      await run('pnpm', ['pack', '--pack-destination', dir], { cwd: packageDir, env });
      const [tarball] = (await readdir(dir)).filter((name) => name.endsWith('.tgz'));
      const listing = (await run('tar', ['-tzf', join(dir, tarball!)])).stdout.trim().split('\n').sort();
      expect(listing).toContain('package/dist/main.js');
      expect(listing).toContain('package/README.md');
      expect(listing.filter((path) => /\/(src|test)\/|\.test\./.test(path))).toEqual([]);

      // --offline: with no runtime dependencies there is nothing to download.
      const app = join(dir, 'app');
      await run(
        'npm',
        ['install', '--offline', '--no-audit', '--no-fund', '--prefix', app, join(dir, tarball!)],
        { env },
      );
      const help = await run(join(app, 'node_modules/.bin/cinemaabyss'), ['--help'], { env });
      expect(help.stdout).toContain('cinemaabyss flags list');
      expect(await readdir(join(app, 'node_modules'))).toEqual(
        ['.bin', '.package-lock.json', '@cinemaabyss'].sort(),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs from the repository root as pnpm cinemaabyss', async () => {
    const { stdout } = await run('pnpm', ['-s', 'cinemaabyss', 'rollout', '--help'], { cwd: repoRoot, env });
    expect(stdout).toContain('cinemaabyss rollout status NAME [--watch]');
  });
});
