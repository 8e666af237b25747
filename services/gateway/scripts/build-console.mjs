// After tsc has compiled the console's TypeScript: copies its HTML and CSS beside the scripts, removes
// files whose source is gone, and gzips every file at the highest level, so the gateway serves the .gz
// twin to every browser that accepts gzip (src/console/routes.ts) without compressing per request.
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gzipSync } from 'node:zlib';

const source = new URL('../src/console/page/', import.meta.url).pathname;
const target = new URL('../dist/console/page/', import.meta.url).pathname;
const built = new Set(readdirSync(source).map((name) => name.replace(/\.ts$/, '.js')));
for (const name of readdirSync(target))
  if (!built.has(name.replace(/\.gz$/, ''))) rmSync(join(target, name), { recursive: true });
for (const name of built) {
  if (/\.(html|css)$/.test(name)) copyFileSync(join(source, name), join(target, name));
  const gzip = gzipSync(readFileSync(join(target, name)), { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(join(target, `${name}.gz`), gzip);
}
