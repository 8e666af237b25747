import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { refusedUrl, waitFor } from './helpers.js';

/**
 * A redis-server of a test's own on a free port, to stop and restart at will (the shared Redis on 6379
 * is never touched). With `persistent`, append-only persistence in `dir`, so a restart keeps the data;
 * without, a restart comes back empty, like a Redis without persistence or a failover to an empty replica.
 */
export class DedicatedRedis {
  private process: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly persistent: boolean,
  ) {}

  /** Picks a free port; the server is not started. */
  static async create(dir: string, { persistent }: { persistent: boolean }): Promise<DedicatedRedis> {
    return new DedicatedRedis(Number(new URL(await refusedUrl()).port), dir, persistent);
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', ''];
    args.push('--appendonly', this.persistent ? 'yes' : 'no');
    this.process = spawn('redis-server', args, { stdio: 'ignore' });
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
}
