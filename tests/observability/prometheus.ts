import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Manifest } from '../deploy/tools.js';

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Polls `check` until it returns a value; a timeout names what was awaited and the last answer. */
export async function until<T>(
  check: () => Promise<T | undefined>,
  ms: number,
  what: string,
  last: () => unknown = () => undefined,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(last())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface PrometheusApiResult {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON, navigated by the tests
  body: { status: string; data: any; error?: string };
}

/**
 * A real Prometheus on a free loopback port with a temporary data directory, started on `config` (the
 * shipped scrape config with the tests' targets and intervals). stop() ends it and removes the directory.
 */
export async function startPrometheus(binary: string, config: Manifest) {
  const dir = mkdtempSync(join(tmpdir(), 'cinemaabyss-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    log = `${log}${chunk}`.slice(-4_000);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${log}`);
        return (await fetch(`${url}/-/ready`)).ok || undefined;
      },
      30_000,
      'Prometheus to be ready',
      () => log,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const api = async (path: string, params: Record<string, string> = {}): Promise<PrometheusApiResult> => {
    const response = await fetch(`${url}/api/v1/${path}?${new URLSearchParams(params)}`);
    return { status: response.status, body: (await response.json()) as PrometheusApiResult['body'] };
  };
  return { url, api, stop, log: () => log };
}

export type Prometheus = Awaited<ReturnType<typeof startPrometheus>>;
