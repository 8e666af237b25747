import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { buildApp } from '@cinemaabyss/gateway/dist/app.js';
import { configSchema } from '@cinemaabyss/gateway/dist/config.js';
import { flagKey, historyKey } from '@cinemaabyss/gateway/dist/flags/store.js';
import { policySchema } from '@cinemaabyss/gateway/dist/routing/policy.js';
import { Redis } from 'ioredis';

export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_TOKEN = 'cli-test-admin-token-0123456789-abcdef';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as its own process with only the given environment (so the caller's
 * CINEMAABYSS_* never leak in). Asynchronous: the gateway under test lives in this process.
 */
export function cli(args: string[], env: Record<string, string> = {}, command = [MAIN]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...command, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const guard = setTimeout(() => {
      child.kill();
      reject(new Error(`cinemaabyss ${args.join(' ')} did not exit within 20 s; stderr: ${stderr}`));
    }, 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A flag name no other test uses, so tests sharing the Redis on 6379 never see each other's values. */
export const uniqueFlag = () => `cli-${randomUUID().slice(0, 8)}`;

/** Polls `check` until it returns true, rejects at the deadline. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface Gateway {
  url: string;
  app: Awaited<ReturnType<typeof buildApp>>;
  close(): Promise<void>;
}

/**
 * A real gateway (the service's own buildApp) on a free port with real Redis, whose route table
 * migrates `flag`, configured by `env` on top of ADMIN_TOKEN. The upstreams are never called: the CLI
 * only talks to the admin API.
 */
export async function startGateway(flag: string, env: Record<string, string> = {}): Promise<Gateway> {
  const config = configSchema.parse({ REDIS_URL, LOG_LEVEL: 'silent', ADMIN_TOKEN, ...env });
  const nowhere = 'http://127.0.0.1:9';
  const app = await buildApp(config, {
    policy: policySchema.parse({
      upstreams: { monolith: nowhere, movies: nowhere },
      routes: [
        { prefix: '/api/movies', upstream: 'monolith', migrate: { flag, to: 'movies' } },
        { prefix: '/api', upstream: 'monolith' },
      ],
      flags: { [flag]: { seed: { enabled: true, percent: 0 } } },
    }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  await waitFor(
    async () => (await app.inject({ url: '/ready' })).json().status === 'ready',
    5_000,
    'the gateway to read its flag from Redis',
  );
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    async close() {
      await app.close();
      const redis = new Redis(REDIS_URL);
      await redis.del(flagKey(flag), historyKey(flag));
      redis.disconnect();
    },
  };
}

export interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

/**
 * A tiny HTTP server on a free port standing in for gateway endpoints that are still being built:
 * it records every request and answers with whatever `answer` returns.
 */
export async function startStandIn(
  answer: (request: Recorded) => { status: number; body?: unknown; html?: string } | 'hang',
) {
  const requests: Recorded[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      const recorded: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body: text === '' ? undefined : JSON.parse(text),
      };
      requests.push(recorded);
      const reply = answer(recorded);
      if (reply === 'hang') return;
      if (reply.html !== undefined) {
        res.writeHead(reply.status, { 'content-type': 'text/html' }).end(reply.html);
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL nothing listens on: connecting to it is refused. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
