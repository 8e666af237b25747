import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { refusedUrl, waitFor } from './helpers.js';

/**
 * A redis-server of a test's own on a free port, to stop and restart mid-test (the shared Redis on 6379
 * is never touched). Append-only persistence, so a restart keeps what was written.
 */
export class DedicatedRedis {
  private process: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async create(): Promise<DedicatedRedis> {
    const dir = await mkdtemp(join(tmpdir(), 'gateway-redis-'));
    return new DedicatedRedis(Number(new URL(await refusedUrl()).port), dir);
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir];
    this.process = spawn('redis-server', [...args, '--save', '', '--appendonly', 'yes'], { stdio: 'ignore' });
    const probe = new Redis(this.url, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on('error', () => {});
    await waitFor(
      async () => {
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          probe.disconnect();
          return false;
        }
      },
      5_000,
      'redis-server to answer',
    );
    probe.disconnect();
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
