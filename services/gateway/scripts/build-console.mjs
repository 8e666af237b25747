// After tsc has compiled the console's TypeScript: copies its HTML and CSS beside the scripts, removes
// files whose source is gone, and gzips every file at the highest level, so the gateway serves the .gz
// twin to every browser that accepts gzip (src/console/routes.ts) without compressing per request.
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gzipSync } from 'node:zlib';
import { PLAN_DEFAULTS } from '@cinemaabyss/admin-contract';

const source = new URL('../src/console/page/', import.meta.url).pathname;
const target = new URL('../dist/console/page/', import.meta.url).pathname;
// A declaration (x.d.ts) stands for a script this build writes itself (x.js).
const built = new Set(readdirSync(source).map((name) => name.replace(/(\.d)?\.ts$/, '.js')));
// The rollout form's defaults are the admin contract's, written as a module of the page's own.
writeFileSync(
  join(target, 'plan-defaults.js'),
  `export const PLAN_DEFAULTS = ${JSON.stringify(PLAN_DEFAULTS)};\n`,
);
for (const name of readdirSync(target))
  if (!built.has(name.replace(/\.gz$/, ''))) rmSync(join(target, name), { recursive: true });
for (const name of built) {
  if (/\.(html|css)$/.test(name)) copyFileSync(join(source, name), join(target, name));
  const gzip = gzipSync(readFileSync(join(target, name)), { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(join(target, `${name}.gz`), gzip);
}
