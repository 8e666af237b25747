import { type AppDeps, errorHandling, fastifyOptions } from '@cinemaabyss/service-kit';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent } from 'undici';
import { AccessLog } from './access-log.js';
import { adminRoutes } from './admin.js';
import type { Config } from './config.js';
import { FlagStore } from './flags/store.js';
import { createMetrics } from './metrics.js';
import { registerProxies } from './proxy.js';
import { loadPolicy, type Policy } from './routing/policy.js';

export interface GatewayDeps extends AppDeps {
  /** Defaults to the policy of GATEWAY_ROUTES_FILE or the built-in one; tests pass their own. */
  policy?: Policy;
}

export async function buildApp(config: Config, deps: GatewayDeps = {}): Promise<FastifyInstance> {
  const policy = deps.policy ?? loadPolicy(config);
  const app = Fastify({
    ...fastifyOptions({ logLevel: config.LOG_LEVEL, logger: deps.logger }),
    logController: new AccessLog(config.ACCESS_LOG),
    // Keep serving requests that arrive on open connections while draining instead of answering 503.
    return503OnClosing: false,
  });
  await app.register(errorHandling);

  const seeds = Object.fromEntries(Object.entries(policy.flags).map(([name, flag]) => [name, flag.seed]));
  const flags = new FlagStore(config.REDIS_URL, seeds, app.log, config.FLAG_SNAPSHOT_FILE);
  const agent = new Agent({
    keepAliveTimeout: config.UPSTREAM_KEEP_ALIVE_MS,
    keepAliveMaxTimeout: config.UPSTREAM_KEEP_ALIVE_MS,
    connect: { timeout: Math.min(config.UPSTREAM_TIMEOUT_MS, 5_000) },
    // Set once here rather than per request through reply-from's `timeout` option.
    headersTimeout: config.UPSTREAM_TIMEOUT_MS,
    bodyTimeout: config.UPSTREAM_TIMEOUT_MS,
  });
  const metrics = createMetrics(flags);
  app.addHook('onClose', async () => {
    await agent.close();
    await flags.close();
  });

  app.get('/health', async (_request, reply) =>
    reply.type('text/plain').send('Strangler Fig Proxy is healthy'),
  );

  // 200 whenever the gateway can route: with Redis down it still can, on the last known flag values,
  // so it reports "degraded" but stays in the load balancer (a Redis blip must not empty the pool).
  app.get('/ready', async (_request, reply) => {
    const redis = flags.isConnected() ? 'connected' : 'disconnected';
    const flagValues = Object.fromEntries(flags.names().map((name) => [name, flags.get(name)]));
    if (deps.isShuttingDown?.())
      return reply.code(503).send({ status: 'shutting-down', redis, flags: flagValues });
    return { status: redis === 'connected' ? 'ready' : 'degraded', redis, flags: flagValues };
  });

  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.contentType).send(await metrics.render()),
  );

  if (config.ADMIN_TOKEN) {
    await app.register(adminRoutes, { token: config.ADMIN_TOKEN, flags, policy });
  }
  await registerProxies(app, {
    policy,
    flags,
    metrics,
    agent,
    isShuttingDown: deps.isShuttingDown ?? (() => false),
  });
  return app;
}
