import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { buildApp } from '@cinemaabyss/gateway/dist/app.js';
import { configSchema } from '@cinemaabyss/gateway/dist/config.js';
import { policySchema } from '@cinemaabyss/gateway/dist/routing/policy.js';
import { REDIS_URL, refusedUrl, uniqueName, waitFor } from '@cinemaabyss/test-kit';
import { Redis } from 'ioredis';
import { expect } from 'vitest';

export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
export { REDIS_URL, refusedUrl, waitFor };
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
  return startCli(args, env, command).done;
}

export interface Running {
  /** What the process has written so far. */
  stdout: string;
  stderr: string;
  /** Resolves when it exits; rejects if it is still running after 20 s (it is killed then). */
  done: Promise<Run>;
}

/**
 * Starts the CLI like `cli`, for a test that acts while the process runs (e.g. `--watch`). With `tty`,
 * script(1) runs it on a pseudo-terminal and passes its exit code on (-e).
 */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
  command = [MAIN],
  { tty = false } = {},
): Running {
  const argv = [process.execPath, ...command, ...args];
  const quoted = argv.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  const child = tty
    ? spawn('script', ['-qec', quoted, '/dev/null'], {
        env: { PATH: process.env.PATH ?? '', TERM: 'xterm', ...env },
      })
    : spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...env } });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => (output.stdout += chunk));
  child.stderr.on('data', (chunk) => (output.stderr += chunk));
  const done = new Promise<Run>((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill();
      reject(new Error(`cinemaabyss ${args.join(' ')} did not exit within 20 s; stderr: ${output.stderr}`));
    }, 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, ...output });
    });
  });
  return Object.assign(output, { done });
}

/** A failed command: exit code 1, nothing on stdout, and `message` as one line on stderr, no stack trace. */
export function expectRefusal(run: Run, message: string) {
  expect(run).toMatchObject({ code: 1, stdout: '' });
  expect(run.stderr).toBe(`cinemaabyss: ${message}\n`);
}

/** A flag name no other test uses, so tests sharing the Redis on 6379 never see each other's values. */
export const uniqueFlag = () => uniqueName('cli');

export interface Gateway {
  url: string;
  app: Awaited<ReturnType<typeof buildApp>>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** The old (monolith) and new (movies) side of the migrating route; default: nothing listens. */
  upstreams?: { old: string; new: string };
  /** More of the gateway's environment, e.g. short rollout timings. */
  env?: Record<string, string>;
}

/**
 * A real gateway (the service's own buildApp) on a free port with real Redis, whose route table
 * migrates `flag` on /api/movies. Without upstreams they are never called: the test only talks to
 * the admin API.
 */
export async function startGateway(flag: string, options: GatewayOptions = {}): Promise<Gateway> {
  const config = configSchema.parse({ REDIS_URL, LOG_LEVEL: 'silent', ADMIN_TOKEN, ...options.env });
  const nowhere = 'http://127.0.0.1:9';
  const app = await buildApp(config, {
    policy: policySchema.parse({
      upstreams: { monolith: options.upstreams?.old ?? nowhere, movies: options.upstreams?.new ?? nowhere },
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
      // The flag, its history, rollout and shadow keys: every key named after this test's flag.
      const redis = new Redis(REDIS_URL);
      for await (const keys of redis.scanStream({ match: `cinemaabyss:*${flag}*`, count: 1_000 }))
        if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
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

/** A real upstream on a free port: `answer` gives each request's status and JSON body. */
export async function startUpstream(answer: (url: URL) => { status: number; body: unknown }) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const { status, body } = answer(new URL(req.url ?? '/', 'http://upstream'));
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
