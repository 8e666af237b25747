#!/usr/bin/env node
// SIGTERM to a running gateway container under load, with the client acting as a load balancer would:
// it probes readiness and stops sending new requests once the instance is out of rotation. Passes when no
// request failed, some were answered after the signal, and the container exited 0 within its grace period.
//
//   node tests/images/drain.mjs --url URL --container NAME --grace SECONDS -- <podman command and flags>
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values: options, positionals: podman } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    container: { type: 'string' },
    grace: { type: 'string' },
    path: { type: 'string', default: '/api/movies' },
    connections: { type: 'string', default: '8' },
  },
});
if (!options.url || !options.container || !options.grace || podman.length === 0) {
  console.error('usage: drain.mjs --url URL --container NAME --grace SECONDS -- podman [flags]');
  process.exit(2);
}
const graceMs = Number(options.grace) * 1000;
// Bounds: the whole run, and the load before the signal.
const maxRunMs = graceMs + 20_000;
const warmupRequests = 200;
const probeEveryMs = 250;

function podmanRun(...args) {
  return new Promise((resolve, reject) => {
    const child = spawn(podman[0], [...podman.slice(1), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`podman ${args[0]} exited ${code}`)),
    );
  });
}

const started = Date.now();
const stats = { answered: 0, answeredAfterSignal: 0, failed: 0, failures: [] };
let inRotation = true;
let signalAt = 0;
let outOfRotationAt = 0;

async function request() {
  try {
    const response = await fetch(options.url + options.path, { signal: AbortSignal.timeout(10_000) });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    stats.answered++;
    if (signalAt) stats.answeredAfterSignal++;
  } catch (error) {
    stats.failed++;
    if (stats.failures.length < 5) stats.failures.push(String(error.cause?.code ?? error.message));
  }
}

// Each connection sends one request after another while the instance is in rotation.
async function client() {
  while (inRotation && Date.now() - started < maxRunMs) await request();
}

// The load balancer's view: /ready, probed until it fails (or the process is gone).
async function probeReadiness() {
  while (Date.now() - started < maxRunMs) {
    const ready = await fetch(`${options.url}/ready`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (!ready) {
      outOfRotationAt = Date.now();
      inRotation = false;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, probeEveryMs));
  }
}

const clients = Array.from({ length: Number(options.connections) }, client);
while (stats.answered + stats.failed < warmupRequests && Date.now() - started < maxRunMs) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const exited = podmanRun('wait', options.container).then((code) => ({ code: Number(code), at: Date.now() }));
signalAt = Date.now();
await podmanRun('kill', '--signal', 'TERM', options.container);
await probeReadiness();
await Promise.all(clients);
const exit = await Promise.race([
  exited,
  new Promise((resolve) =>
    setTimeout(() => resolve({ code: null, at: null }), Math.max(0, signalAt + maxRunMs - Date.now())),
  ),
]);

const exitMs = exit.at ? exit.at - signalAt : null;
const result = {
  requests: stats.answered + stats.failed,
  failed: stats.failed,
  answeredAfterSignal: stats.answeredAfterSignal,
  outOfRotationAfterMs: outOfRotationAt ? outOfRotationAt - signalAt : null,
  exitCode: exit.code,
  exitedAfterMs: exitMs,
  graceMs,
};
console.log(`drain: ${JSON.stringify(result)}`);
const problems = [];
if (stats.failed > 0) problems.push(`${stats.failed} requests failed (${stats.failures.join(', ')})`);
if (stats.answeredAfterSignal === 0) problems.push('no request was answered after SIGTERM');
if (!outOfRotationAt) problems.push('readiness never failed after SIGTERM');
if (exit.code !== 0) problems.push(`exit code ${exit.code ?? 'none: still running'}`);
if (exitMs !== null && exitMs > graceMs) problems.push(`exited after ${exitMs} ms, grace is ${graceMs} ms`);
for (const problem of problems) console.error(`drain: ${problem}`);
process.exit(problems.length === 0 ? 0 : 1);
