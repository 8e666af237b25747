#!/usr/bin/env node
// pnpm docs:console: the operator console in a realistic state, photographed for the docs. A gateway
// (the built one) on a free port, on a redis-server of its own (the stack's flags are never touched), in
// front of two movie upstreams that disagree on some ratings, under steady traffic; shadowing at 20 %
// and a rollout that the judge has taken to its second step, 25 %. Writes docs/console-laptop.png and
// docs/console-phone.png.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildApp } from '../services/gateway/dist/app.js';
import { configSchema } from '../services/gateway/dist/config.js';
import { BUILT_IN_POLICY, policySchema } from '../services/gateway/dist/routing/policy.js';
import { launchChromium } from './chromium.mjs';

const root = new URL('..', import.meta.url).pathname;
const deadline = (ms, what) => {
  const end = Date.now() + ms;
  return async (check) => {
    while (Date.now() < end) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`docs:console: timed out waiting for ${what}`);
  };
};
const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

// A movies upstream: the new side rates one movie in seven differently, both fail now and then.
const movies = (side) =>
  createServer((req, res) => {
    const id = Number(new URL(req.url, 'http://x').searchParams.get('id') ?? 1);
    const body = {
      id,
      title: `Movie ${id}`,
      rating: side === 'new' && id % 7 === 0 ? 8.6 : 8.5,
      served_at: new Date().toISOString(),
    };
    setTimeout(
      () => {
        if (Math.random() < 0.004) res.writeHead(500).end('{"error":"database busy"}');
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      },
      (side === 'new' ? 3 : 5) + Math.random() * 12,
    );
  });

const cleanups = [];
const work = mkdtempSync(join(tmpdir(), 'console-docs-'));
cleanups.push(() => rmSync(work, { recursive: true, force: true }));
try {
  // A port nothing listens on: taken by a throw-away server, then given to redis-server.
  const probeServer = createServer();
  const redisPort = await listen(probeServer);
  await new Promise((resolve) => probeServer.close(resolve));
  const redis = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work],
    { stdio: 'ignore' },
  );
  cleanups.push(() => redis.kill('SIGTERM'));
  await deadline(
    5_000,
    'redis-server',
  )(
    () =>
      new Promise((resolve) => {
        const probe = spawn('redis-cli', ['-p', String(redisPort), 'ping'], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        let out = '';
        probe.stdout.on('data', (chunk) => (out += chunk));
        probe.on('exit', () => resolve(out.trim() === 'PONG'));
      }),
  );

  const old = movies('old');
  const neu = movies('new');
  const [oldPort, newPort] = [await listen(old), await listen(neu)];
  cleanups.push(
    () => old.close(),
    () => neu.close(),
    () => old.closeAllConnections(),
    () => neu.closeAllConnections(),
  );

  const tokens = { alice: randomBytes(24).toString('hex'), bob: randomBytes(24).toString('hex') };
  const operators = Object.entries(tokens).map(([name, token]) => ({
    name,
    role: 'operator',
    tokenSha256: createHash('sha256').update(token).digest('hex'),
  }));
  writeFileSync(join(work, 'tokens.json'), JSON.stringify({ operators }));
  const config = configSchema.parse({
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    LOG_LEVEL: 'silent',
    ADMIN_TOKENS_FILE: join(work, 'tokens.json'),
  });
  const upstreams = {
    monolith: `http://127.0.0.1:${oldPort}`,
    movies: `http://127.0.0.1:${newPort}`,
    events: `http://127.0.0.1:${oldPort}`,
  };
  const app = await buildApp(config, { policy: policySchema.parse({ ...BUILT_IN_POLICY, upstreams }) });
  cleanups.push(() => app.close());
  const gateway = await app.listen({ port: 0, host: '127.0.0.1' });
  await deadline(
    5_000,
    'the gateway to reach Redis',
  )(async () => (await (await fetch(`${gateway}/ready`)).json()).status === 'ready');
  const admin = async (who, method, path, body) => {
    const res = await fetch(`${gateway}/admin/flags/movies${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body && { 'content-type': 'application/json' }),
      },
      ...(body && { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`docs:console: ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };

  // Steady traffic: 500 users, 6 requests in flight, over a keep-alive agent of node:http.
  let stopped = false;
  const get = (path, user) =>
    new Promise((resolve) => {
      const req = request(`${gateway}${path}`, { headers: { 'x-user-id': user } }, (res) =>
        res.resume().on('end', resolve),
      );
      req.on('error', resolve);
      req.end();
    });
  const workers = Array.from({ length: 6 }, async () => {
    while (!stopped)
      await get(
        `/api/movies?id=${1 + Math.floor(Math.random() * 40)}`,
        `user-${Math.floor(Math.random() * 500)}`,
      );
  });
  cleanups.push(async () => {
    stopped = true;
    await Promise.all(workers);
  });

  // The movies data's status, as the movies-sync would publish it (docs/data.md): the flag's data panel.
  const status = {
    domain: 'movies',
    writes: 'monolith',
    source: { database: 'cinemaabyss', tables: ['movies', 'genres', 'movie_genres'] },
    target: { database: 'movies', table: 'movies' },
    connector: { name: 'cinemaabyss-movies', state: 'RUNNING' },
    lagMs: 42,
    lagP99Ms: 180,
    retainedWalBytes: 3_407_872,
    parity: {
      state: 'ok',
      checkedAt: new Date().toISOString(),
      rows: 100_000,
      mismatched: 0,
      missing: 0,
      extra: 0,
      sampleIds: [],
    },
    updatedAt: new Date().toISOString(),
  };
  await new Promise((resolve, reject) =>
    spawn('redis-cli', ['-p', String(redisPort), 'SET', 'cinemaabyss:data:movies', JSON.stringify(status)], {
      stdio: 'ignore',
    }).on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error('docs:console: redis-cli SET failed')),
    ),
  );

  await admin('bob', 'PUT', '', { deny: ['qa-load-bot'] });
  await admin('alice', 'PUT', '/shadow', { percent: 20, ignore: ['$.served_at'] });
  await admin('alice', 'POST', '/rollout', { steps: [5, 25, 50, 100], intervalMs: 20_000, minRequests: 20 });
  console.log('docs:console: rollout started; waiting for the judge to take it to 25 % (about 20 s)');
  await deadline(
    60_000,
    'the rollout to reach 25 %',
  )(async () => (await admin('alice', 'GET', '/rollout')).percent === 25);

  const browser = await launchChromium(chromium);
  cleanups.push(() => browser.close());
  for (const [name, viewport] of [
    ['laptop', { width: 1280, height: 900 }],
    ['phone', { width: 390, height: 844 }],
  ]) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${gateway}/admin/console`);
    await page.fill('input[name="token"]', tokens.alice);
    await page.click('#login button[type="submit"]');
    const card = page.locator('[data-flag="movies"]');
    await card.locator('[data-field="chart"] svg').waitFor();
    await card.locator('.sample').first().waitFor();
    await card.locator('[data-field="data-lag"]').waitFor();
    await deadline(
      5_000,
      'the page to show 25 %',
    )(async () => (await card.locator('[data-field="percent"]').textContent()) === '25');
    await page.screenshot({ path: join(root, `docs/console-${name}.png`), fullPage: true });
    console.log(`docs:console: docs/console-${name}.png`);
    await context.close();
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}
