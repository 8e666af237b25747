import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { loadConfig } from './config.js';
import type { ServiceOptions } from './options.js';
import { startFailureMessage } from './start-failure.js';

interface ServiceConfig {
  PORT: number;
  /** See shutdownDelayMs. */
  SHUTDOWN_DELAY_MS: number;
}

/**
 * `SHUTDOWN_DELAY_MS` for a service's config schema: how long to keep serving after SIGTERM before closing,
 * so load balancers see the failing readiness probe and stop sending new requests first (Kubernetes
 * endpoints lag a few seconds behind). runService reads it.
 */
export const shutdownDelayMs = (defaultMs = 5_000) =>
  z.coerce
    .number({ error: 'must be a whole number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must be a whole number of milliseconds')
    .default(defaultMs);

export interface Lifecycle {
  /** True from SIGTERM on: readiness endpoints answer 503 so traffic drains away first. */
  isShuttingDown: () => boolean;
}

/** What every service's `buildApp` takes besides its config: tests leave the lifecycle out, or pass a logger. */
export interface AppDeps extends Partial<Lifecycle> {
  logger?: ServiceOptions['logger'];
}

/**
 * A service's whole `server.ts`: read the environment, build the app and listen; on SIGTERM or SIGINT fail
 * readiness, wait SHUTDOWN_DELAY_MS, then drain and exit. A failure to start exits 1 with a message naming the
 * step and the reason (startFailureMessage); a ConfigError or StartupError with its message only.
 */
export async function runService<C extends ServiceConfig>(
  schema: z.ZodType<C>,
  build: (config: C, lifecycle: Lifecycle) => Promise<FastifyInstance>,
): Promise<FastifyInstance> {
  let shuttingDown = false;
  let config: C;
  let app: FastifyInstance;
  // The step under way, so a failure says which one failed.
  let step = 'reading the configuration';
  try {
    config = loadConfig(schema);
    step = 'building the app';
    app = await build(config, { isShuttingDown: () => shuttingDown });
    step = 'getting ready (plugins and onReady hooks: dependencies, migrations)';
    await app.ready();
    step = `listening on 0.0.0.0:${config.PORT}`;
    await app.listen({ port: config.PORT, host: '0.0.0.0' });
  } catch (error) {
    process.stderr.write(`${startFailureMessage(step, error)}\n`);
    process.exit(1);
  }

  const shutdownDelayMs = config.SHUTDOWN_DELAY_MS;
  const stop = async (signal: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    app.log.info({ signal, shutdownDelayMs }, 'shutting down: draining in-flight requests');
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
