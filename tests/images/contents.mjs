#!/usr/bin/env node
// Checks a service image's mounted root filesystem: the service's built code is there, and none of its
// sources, tests, dev dependencies or secrets are. Prints each problem and exits 1 if there is any.
//
//   node tests/images/contents.mjs <service> <rootfs> <image Env as JSON>
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const [service, rootfs, imageEnv] = process.argv.slice(2);
if (!service || !rootfs || !imageEnv) {
  console.error('usage: contents.mjs <service> <rootfs> <image Env as JSON>');
  process.exit(2);
}
const app = join(rootfs, 'app');
const problems = [];

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      yield { path, directory: true };
      yield* walk(path);
    } else {
      yield { path, directory: false };
    }
  }
}

// The gateway serves the operator console from its build (services/gateway/src/console/routes.ts).
const consoleFiles = ['index.html', 'console.js', 'console.css'].flatMap((name) => [
  `dist/console/page/${name}`,
  `dist/console/page/${name}.gz`,
]);
for (const needed of [
  'dist/server.js',
  'package.json',
  'node_modules',
  ...(service === 'gateway' ? consoleFiles : []),
]) {
  if (!existsSync(join(app, needed))) problems.push(`/app/${needed} is missing`);
}

// Our own code: /app itself and the workspace packages pnpm deploy copied in.
const pnpmDir = join(app, 'node_modules/.pnpm');
const ownDirs = [
  app,
  ...readdirSync(pnpmDir)
    .filter((name) => name.startsWith('@cinemaabyss+'))
    .map((name) => join(pnpmDir, name)),
];
const sourceOrTest =
  /(^|\/)(src|test|tests|__tests__)$|\.(test|spec)\.[cm]?[jt]s$|(^|\/)(vitest|vite)\.config\.|(^|\/)tsconfig[^/]*\.json$|(^|\/)Dockerfile$|(?<!\.d)\.[cm]?ts$/;
for (const dir of ownDirs) {
  for (const { path } of walk(dir)) {
    const inside = relative(app, path);
    // Third-party packages under node_modules are judged by the dev-dependency check below.
    if (dir === app && inside.startsWith('node_modules/')) continue;
    if (/\/node_modules\/(?!@cinemaabyss\/)/.test(`/${relative(dir, path)}`)) continue;
    if (sourceOrTest.test(inside)) problems.push(`source or test file: /app/${inside}`);
  }
}

// Dev dependencies: what any workspace package needs only in development (and no package at run time).
const manifests = [
  'package.json',
  ...['services', 'packages'].flatMap((group) =>
    readdirSync(join(root, group)).map((name) => `${group}/${name}/package.json`),
  ),
  'tests/package.json',
  'bench/package.json',
]
  .filter((file) => existsSync(join(root, file)))
  .map((file) => JSON.parse(readFileSync(join(root, file), 'utf8')));
const runtime = new Set(manifests.flatMap((m) => Object.keys(m.dependencies ?? {})));
const devOnly = new Set(
  manifests.flatMap((m) => Object.keys(m.devDependencies ?? {})).filter((name) => !runtime.has(name)),
);
for (const name of readdirSync(pnpmDir)) {
  // .pnpm/<name with / as +>@<version>[_<peers>]
  const packageName = /^(@?[^@]+)@/.exec(name)?.[1].replace('+', '/');
  if (devOnly.has(packageName)) problems.push(`dev dependency installed: ${packageName} (${name})`);
}

// Secrets: key material, env files, tokens, registry or git credentials anywhere in the image.
const secretName =
  /^(\.env(\..+)?|admin-token|\.npmrc|\.netrc|\.git-credentials|id_(rsa|ecdsa|ed25519)|.+\.(pem|key|p12|pfx))$/;
for (const { path, directory } of walk(rootfs)) {
  if (directory || lstatSync(path).isSymbolicLink()) continue;
  // Throw-away keys in third-party packages' own test fixtures (e.g. @fastify/reply-from) are not secrets.
  if (/\/node_modules\/(@[^/]+\/)?[^/]+\/test\//.test(path)) continue;
  if (secretName.test(basename(path))) problems.push(`secret-like file: /${relative(rootfs, path)}`);
}
for (const { path, directory } of walk(app)) {
  if (directory || lstatSync(path).isSymbolicLink() || path.includes('/node_modules/')) continue;
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----|_authToken/.test(readFileSync(path, 'latin1'))) {
    problems.push(`secret in /app/${relative(app, path)}`);
  }
}
for (const entry of JSON.parse(imageEnv)) {
  if (/^[^=]*(TOKEN|PASSWORD|SECRET|KEY)[^=]*=/i.test(entry))
    problems.push(`secret in the image's ENV: ${entry}`);
}

for (const problem of problems) console.error(`${service}: ${problem}`);
console.log(
  `${service}: ${problems.length === 0 ? 'no sources, tests, dev dependencies or secrets' : `${problems.length} problems`}`,
);
process.exit(problems.length === 0 ? 0 : 1);
