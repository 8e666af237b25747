import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { ConfigError, loadConfig } from './config.js';
import type { ServiceOptions } from './options.js';

/**
 * A start-up failure that is the operator's to fix (a dependency that never came up, say): the process
 * exits with this message only, like a ConfigError, because a stack trace would add nothing.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}

interface StartOptions {
  port: number;
  host?: string;
  /**
   * How long to keep serving after SIGTERM before closing, so load balancers see the failing readiness
   * probe and stop sending new requests first (Kubernetes endpoints lag a few seconds behind).
   */
  shutdownDelayMs?: number;
  /** Called first on SIGTERM/SIGINT, before the delay: fail readiness here. */
  onShutdownStart?: () => void;
}

/**
 * Builds, listens and owns the process lifecycle. A ConfigError exits with its message only (no stack),
 * because it is an operator's problem, not a bug.
 */
export async function startServer(
  build: () => Promise<FastifyInstance>,
  { port, host = '0.0.0.0', shutdownDelayMs = 0, onShutdownStart }: StartOptions,
): Promise<FastifyInstance> {
  let app: FastifyInstance;
  try {
    app = await build();
    await app.listen({ port, host });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`Failed to start: ${(error as Error).stack ?? String(error)}\n`);
    }
    process.exit(1);
  }

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal, shutdownDelayMs }, 'shutting down: draining in-flight requests');
    onShutdownStart?.();
    if (shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, shutdownDelayMs));
    try {
      await app.close();
      app.log.info('shut down cleanly');
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'error while shutting down');
      process.exit(1);
    }
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return app;
}

interface ServiceConfig {
  PORT: number;
  SHUTDOWN_DELAY_MS: number;
}

export interface Lifecycle {
  /** True from SIGTERM on: readiness endpoints answer 503 so traffic drains away first. */
  isShuttingDown: () => boolean;
}

/** What every service's `buildApp` takes besides its config: tests leave the lifecycle out, or pass a logger. */
export interface AppDeps extends Partial<Lifecycle> {
  logger?: ServiceOptions['logger'];
}

/**
 * A service's whole `server.ts`: read the environment (a bad one exits with the operator-readable message),
 * build the app, listen, and on SIGTERM fail readiness, wait SHUTDOWN_DELAY_MS, then drain and exit.
 */
export async function runService<C extends ServiceConfig>(
  schema: z.ZodType<C>,
  build: (config: C, lifecycle: Lifecycle) => Promise<FastifyInstance>,
): Promise<FastifyInstance> {
  let config: C;
  try {
    config = loadConfig(schema);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  let shuttingDown = false;
  return startServer(() => build(config, { isShuttingDown: () => shuttingDown }), {
    port: config.PORT,
    shutdownDelayMs: config.SHUTDOWN_DELAY_MS,
    onShutdownStart: () => {
      shuttingDown = true;
    },
  });
}
