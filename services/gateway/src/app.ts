import { type AppDeps, errorHandling, fastifyOptions, METRICS_PATH } from '@cinemaabyss/service-kit';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent } from 'undici';
import { loadOperators } from './admin/operators.js';
import { adminRoutes } from './admin/routes.js';
import type { Config } from './config.js';
import { consoleRoutes } from './console/routes.js';
import { createDataStatus } from './data/status.js';
import { SHADOW_OFF } from './flags/record.js';
import { FlagStore } from './flags/store.js';
import { BodyBudget } from './proxy/body-budget.js';
import { continueUnlessTooLarge, edgeChecks } from './proxy/edge.js';
import { registerProxies } from './proxy/forward.js';
import { connectCluster } from './redis/cluster.js';
import { createRollouts, type ShadowSource } from './rollout/rollouts.js';
import { loadPolicy, type Policy } from './routing/policy.js';
import { createShadowing } from './shadow/shadowing.js';
import { AccessLog } from './telemetry/access-log.js';
import { createMetrics } from './telemetry/metrics.js';

export interface GatewayDeps extends AppDeps {
  /** Defaults to the policy of GATEWAY_ROUTES_FILE or the built-in one; tests pass their own. */
  policy?: Policy;
}

export async function buildApp(config: Config, deps: GatewayDeps = {}): Promise<FastifyInstance> {
  const policy = deps.policy ?? loadPolicy(config);
  const app = Fastify({
    ...fastifyOptions({
      logLevel: config.LOG_LEVEL,
      logger: deps.logger,
      clientTimeouts: {
        headersMs: config.CLIENT_HEADERS_TIMEOUT_MS,
        requestMs: config.CLIENT_REQUEST_TIMEOUT_MS,
        keepAliveMs: config.CLIENT_KEEP_ALIVE_MS,
      },
    }),
    logController: new AccessLog(config.ACCESS_LOG),
    // Keep serving requests that arrive on open connections while draining instead of answering 503.
    return503OnClosing: false,
    // A hop count as a function: Fastify's types accept none, proxy-addr counts hops this way too.
    trustProxy: typeof config.TRUST_PROXY === 'number' ? trustHops(config.TRUST_PROXY) : config.TRUST_PROXY,
    // For the bodies the gateway parses itself (admin); proxied ones are checked in edgeChecks.
    bodyLimit: config.GATEWAY_MAX_BODY_BYTES,
  });
  app.server.on('checkContinue', continueUnlessTooLarge(app.server, config.GATEWAY_MAX_BODY_BYTES));
  app.addHook('onRequest', edgeChecks(config.GATEWAY_MAX_BODY_BYTES));
  await app.register(errorHandling);
  // Before anything that connects: a bad operators file stops the start-up here.
  const operators = loadOperators(config, app.log);

  const seeds = Object.fromEntries(Object.entries(policy.flags).map(([name, flag]) => [name, flag.seed]));
  const flags = new FlagStore(config.REDIS_URL, seeds, app.log, config.FLAG_SNAPSHOT_FILE);
  const agent = new Agent({
    keepAliveTimeout: config.UPSTREAM_KEEP_ALIVE_MS,
    keepAliveMaxTimeout: config.UPSTREAM_KEEP_ALIVE_MS,
    connect: { timeout: Math.min(config.UPSTREAM_TIMEOUT_MS, 5_000) },
    connections: config.UPSTREAM_MAX_CONNECTIONS,
    // Set once here rather than per request through reply-from's `timeout` option.
    headersTimeout: config.UPSTREAM_TIMEOUT_MS,
    bodyTimeout: config.UPSTREAM_TIMEOUT_MS,
  });
  const metrics = createMetrics(flags);
  const cluster = connectCluster(config, app.log);
  const shadowing = createShadowing(config, cluster);
  // A rollout's maxMismatchRate is judged on the shadow comparisons of each window.
  const shadow: ShadowSource = {
    shadowing: (flag) => (flags.get(flag)?.shadow.percent ?? 0) > 0,
    window: (flag, fromMs, toMs) =>
      shadowing.window(flag, flags.get(flag)?.shadow ?? SHADOW_OFF, fromMs, toMs),
  };
  const dataStatus = createDataStatus(cluster.redis);
  const rollouts = createRollouts(config, {
    cluster,
    flags,
    log: app.log,
    shadow,
    data: dataStatus,
    dataDomainOf: (flag) => policy.flags[flag]?.data,
  });
  app.addHook('onClose', async () => {
    operators?.close();
    await agent.close();
    await rollouts.close();
    await shadowing.close();
    await cluster.close();
    await flags.close();
  });

  app.get('/health', async (_request, reply) =>
    reply.type('text/plain').send('Strangler Fig Proxy is healthy'),
  );

  // 200 whenever the gateway can route: with Redis down it still can, on the last known flag values,
  // so it reports "degraded" but stays in the load balancer (a Redis blip must not empty the pool).
  // Anyone may call it, so it shows each flag's split and never the user ids of its allow and deny lists.
  app.get('/ready', async (_request, reply) => {
    const redis = flags.isConnected() ? 'connected' : 'disconnected';
    const flagValues = Object.fromEntries(
      flags.names().map((name) => {
        const { value, source } = flags.get(name)!;
        return [name, { enabled: value.enabled, percent: value.percent, source }];
      }),
    );
    if (deps.isShuttingDown?.())
      return reply.code(503).send({ status: 'shutting-down', redis, flags: flagValues });
    return { status: redis === 'connected' ? 'ready' : 'degraded', redis, flags: flagValues };
  });

  // Every part's metrics in one exposition, and /metrics is its rendering.
  const { exposition } = metrics;
  exposition.register(() => shadowing.recorder.metricFamilies());
  exposition.register(() => rollouts.driver.metricFamilies());
  if (operators) exposition.register(() => operators.metricFamilies());
  const bodyBudget = new BodyBudget(config.GATEWAY_MAX_BUFFERED_BYTES, config.GATEWAY_MAX_BODY_BYTES);
  exposition.register(() => bodyBudget.metricFamilies());
  app.get(METRICS_PATH, async (_request, reply) =>
    reply.type(exposition.contentType).send(await exposition.render()),
  );

  // Before the admin routes: they inherit the request decorations the proxies' metrics hook reads.
  await registerProxies(app, {
    policy,
    flags,
    metrics,
    agent,
    sideStats: rollouts.stats,
    maxBodyBytes: config.GATEWAY_MAX_BODY_BYTES,
    bodyBudget,
    isShuttingDown: deps.isShuttingDown ?? (() => false),
    shadow: { shadower: shadowing.shadower, maxBodyBytes: config.SHADOW_MAX_BODY_BYTES },
  });
  if (operators) {
    await app.register(adminRoutes, {
      operators: operators.table,
      flags,
      metrics,
      policy,
      shadowing,
      rollouts,
      data: dataStatus,
    });
    await app.register(consoleRoutes);
  }
  return app;
}

/** Trusts the nearest `hops` proxies: hop 0 is the socket's peer. */
const trustHops =
  (hops: number) =>
  (_address: string, hop: number): boolean =>
    hop < hops;
