import type { FlagView } from '@cinemaabyss/admin-contract';
import { HttpError } from '@cinemaabyss/service-kit';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { DataStatusStore } from '../data/status.js';
import { effectivePercent } from '../flags/record.js';
import type { FlagStore } from '../flags/store.js';
import type { Rollouts } from '../rollout/rollouts.js';
import type { Policy } from '../routing/policy.js';
import type { Shadowing } from '../shadow/shadowing.js';
import type { Metrics } from '../telemetry/metrics.js';
import { dataRoutes } from './data-routes.js';
import { identify, type OperatorTable, operatorOf } from './operators.js';
import { rolloutRoutes } from './rollout-routes.js';
import { schemaOf, useZodSchemas } from './schema.js';
import { shadowRoutes } from './shadow-routes.js';
import { trafficRoutes } from './traffic-routes.js';

/** Failed authentications a client address may make per window before it is answered 429. */
export const AUTH_FAILURES_PER_WINDOW = 20;
const AUTH_WINDOW = '1 minute';

/** Methods a viewer may use: reading changes nothing. */
const READS = new Set(['GET', 'HEAD']);

/**
 * Operator API for the migration flags, behind `Authorization: Bearer <token>` of a named operator
 * (operators.ts). Registered only when there is an operator; without one the routes do not exist (404).
 * What each route takes and answers is declared on it from @cinemaabyss/admin-contract.
 */
export async function adminRoutes(
  app: FastifyInstance,
  {
    operators,
    flags,
    metrics,
    policy,
    shadowing,
    rollouts,
    data,
  }: {
    /** The current table: it may be swapped while the gateway runs. */
    operators: () => OperatorTable;
    flags: FlagStore;
    metrics: Metrics;
    policy: Policy;
    shadowing: Shadowing;
    rollouts: Rollouts;
    data: DataStatusStore;
  },
) {
  app.decorateRequest('operator', undefined);
  // Context-level onRequest hooks run before the limiter's route-level one, which asks who is calling.
  // The auth scheme is case-insensitive (RFC 9110 §11.1); the token is not.
  app.addHook('onRequest', async (request) => {
    const [, given = ''] = /^bearer +(.*)$/i.exec(request.headers.authorization ?? '') ?? [];
    request.operator = identify(operators(), given);
  });

  // Only failures count: an authenticated request is on the allow list, so a guessing client on the
  // same address never locks the operator out.
  await app.register(rateLimit, {
    max: AUTH_FAILURES_PER_WINDOW,
    timeWindow: AUTH_WINDOW,
    allowList: (request) => request.operator !== undefined,
    onExceeded: (request) => {
      metrics.authFailure(429);
      request.log.warn({ ip: request.ip }, 'admin authentication failed too often: rate-limited');
    },
    errorResponseBuilder: (_request, { after }) =>
      new HttpError(429, `too many failed authentications from this address; retry in ${after}`),
  });
  // preParsing, after the limiter's route-level onRequest hook has counted the failure (context-level
  // onRequest hooks run first), and before an unauthenticated body is parsed.
  app.addHook('preParsing', async (request, reply) => {
    const { operator } = request;
    if (!operator) {
      metrics.authFailure(401);
      request.log.warn({ ip: request.ip, url: request.url }, 'admin authentication failed');
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError(401, 'missing or invalid bearer token');
    }
    if (operator.role === 'viewer' && !READS.has(request.method)) {
      request.log.warn(
        { operator: operator.name, method: request.method, url: request.url },
        'admin write refused: the operator is a viewer',
      );
      throw new HttpError(403, `operator '${operator.name}' is a viewer: read-only`);
    }
  });

  // A flag the gateway does not route is a 404 before its body is looked at (a 400).
  app.addHook('preValidation', async (request) => {
    const { name } = request.params as { name?: string };
    if (name !== undefined && !flags.get(name))
      throw new HttpError(404, `unknown flag "${name}"; known flags: ${flags.names().join(', ')}`);
  });
  const admin = useZodSchemas(app);

  // Who the token belongs to, so a console can show it and offer only what the role allows.
  admin.get('/admin/me', { schema: schemaOf('GET /admin/me') }, async (request) => request.operator!);

  const describe = (name: string): FlagView => {
    const flag = flags.get(name)!;
    return {
      name,
      ...flag.value,
      effectivePercent: effectivePercent(flag),
      source: flag.source,
      routes: policy.routes.filter((route) => route.migrate?.flag === name).map((route) => route.prefix),
      data: policy.flags[name]?.data ?? null,
    };
  };

  admin.get('/admin/flags', { schema: schemaOf('GET /admin/flags') }, async () => ({
    redis: flags.isConnected() ? ('connected' as const) : ('disconnected' as const),
    flags: flags.names().map(describe),
  }));

  admin.get('/admin/flags/export', { schema: schemaOf('GET /admin/flags/export') }, async () => ({
    flags: flags.export(),
  }));

  // Validated whole before anything is written, then written in one atomic step.
  admin.put('/admin/flags/import', { schema: schemaOf('PUT /admin/flags/import') }, async (request) => {
    const document = request.body;
    const unknown = Object.keys(document.flags).filter((name) => !flags.get(name));
    if (unknown.length > 0)
      throw new HttpError(
        400,
        `body.flags: unknown flag "${unknown[0]}"; known flags: ${flags.names().join(', ')}`,
      );
    const by = operatorOf(request);
    const changed = await flags.import(document.flags, by);
    request.log.info({ by, changed: Object.keys(changed) }, 'flags imported through the admin API');
    return { changed: Object.keys(changed), flags: flags.names().map(describe) };
  });

  admin.get('/admin/flags/:name', { schema: schemaOf('GET /admin/flags/:name') }, async (request) =>
    describe(request.params.name),
  );

  admin.put('/admin/flags/:name', { schema: schemaOf('PUT /admin/flags/:name') }, async (request) => {
    const { name } = request.params;
    const change = request.body;
    const by = operatorOf(request);
    // Two hands never fight over the percent: a running rollout is paused first, and says why.
    const pausedRollout =
      change.percent !== undefined &&
      (await rollouts.guard(() => rollouts.controls.pauseForManualChange(name, by)));
    const entry = await flags.update(name, change, by);
    request.log.info(
      { flag: name, by, old: entry.old, new: entry.new },
      'flag changed through the admin API',
    );
    return { ...describe(name), change: entry, ...(pausedRollout && { rollout: 'paused' as const }) };
  });

  admin.get(
    '/admin/flags/:name/history',
    { schema: schemaOf('GET /admin/flags/:name/history') },
    async (request) => {
      const { name } = request.params;
      return { name, history: await flags.history(name) };
    },
  );

  await app.register(shadowRoutes, { flags, shadowing });
  await app.register(rolloutRoutes, { rollouts });
  await app.register(trafficRoutes, { rollouts });
  await app.register(dataRoutes, { data });
}
