#!/usr/bin/env node
// Runs the Postman collection with Newman against a stack that is already up.
//
//   node tests/postman/run.mjs [local|docker|kubernetes] [--folder NAME]... [--set key=value]... [--junit PATH]
//
// The environment defaults to `local`. The admin token comes from ADMIN_TOKEN, else from the file
// `scripts/stack up` writes ($STACK_DIR/admin-token, default .stack/admin-token). Reports: the CLI table
// and JUnit XML in reports/newman-junit.xml (or --junit PATH, relative to the repository). Exits non-zero on
// any failed assertion or request error.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import newman from 'newman';
import { buildCollection, collectionPath } from './collection.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');

function fail(message) {
  console.error(`test:e2e: ${message}`);
  process.exit(2);
}

function cliArguments() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        folder: { type: 'string', multiple: true },
        set: { type: 'string', multiple: true },
        junit: { type: 'string', default: join('reports', 'newman-junit.xml') },
      },
    });
  } catch (error) {
    fail(
      `${error.message}\nusage: node tests/postman/run.mjs [local|docker|kubernetes] [--folder NAME]... [--set key=value]... [--junit PATH]`,
    );
  }
}

const { values: options, positionals } = cliArguments();
if (positionals.length > 1) fail(`one environment at a time, got ${positionals.join(', ')}`);
const environmentName = positionals[0] ?? 'local';
const environmentPath = join(here, 'environments', `${environmentName}.postman_environment.json`);
if (!existsSync(environmentPath)) fail(`no environment "${environmentName}" (expected ${environmentPath})`);

// The committed JSON is what Postman users import: it must be what collection.mjs builds.
const collection = JSON.parse(readFileSync(collectionPath, 'utf8'));
if (JSON.stringify(collection) !== JSON.stringify(buildCollection())) {
  fail(`${collectionPath} is stale: regenerate it with \`node tests/postman/collection.mjs\``);
}

function adminToken() {
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
  const file = join(process.env.STACK_DIR ?? join(root, '.stack'), 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
}

const token = adminToken();
if (!token)
  fail('no admin token: set ADMIN_TOKEN or start the stack with `scripts/stack up` (.stack/admin-token)');

const envVar = [{ key: 'admin_token', value: token }];
for (const pair of options.set ?? []) {
  const at = pair.indexOf('=');
  if (at < 1) fail(`--set expects key=value, got "${pair}"`);
  envVar.push({ key: pair.slice(0, at), value: pair.slice(at + 1) });
}

const junitPath = join(root, options.junit);
mkdirSync(dirname(junitPath), { recursive: true });

newman.run(
  {
    collection,
    environment: environmentPath,
    envVar,
    folder: options.folder,
    reporters: ['cli', 'junit'],
    reporter: { junit: { export: junitPath } },
    timeoutRequest: 10_000,
  },
  (err, summary) => {
    if (err) fail(`newman could not run: ${err.message}`);
    const { assertions, requests } = summary.run.stats;
    const failed = summary.run.failures.length;
    const passed = assertions.total - assertions.failed;
    console.log(`JUnit report: ${junitPath}`);
    console.log(
      `${requests.total} requests, ${assertions.total} assertions (environment ${environmentName})`,
    );
    // The plain closing line CI reads.
    console.log(`newman: ${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  },
);
