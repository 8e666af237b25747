import { HttpError } from '@cinemaabyss/service-kit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parsePlan } from '../rollout/plan.js';
import type { Rollouts } from '../rollout/rollouts.js';

/**
 * The rollout of a flag (docs/gateway.md, "Progressive rollout"). Registered inside the admin routes, so
 * behind their token and rate limit; `knownFlag` answers 404 for a flag the gateway does not route.
 */
export async function rolloutRoutes(
  app: FastifyInstance,
  {
    rollouts,
    knownFlag,
    operatorOf,
  }: {
    rollouts: Rollouts;
    knownFlag: (request: FastifyRequest) => string;
    operatorOf: (request: FastifyRequest) => string;
  },
) {
  const { controls, guard } = rollouts;

  app.post('/admin/flags/:name/rollout', async (request, reply) => {
    const name = knownFlag(request);
    const plan = parsePlan(request.body);
    const by = operatorOf(request);
    const view = await guard(() => controls.start(name, plan, by));
    request.log.info({ flag: name, by, plan }, 'rollout started through the admin API');
    return reply.code(201).send(view);
  });

  app.get('/admin/flags/:name/rollout', async (request) => {
    const name = knownFlag(request);
    const view = await guard(() => controls.view(name));
    if (!view) throw new HttpError(404, `no rollout of "${name}"; start one with POST`);
    return view;
  });

  for (const action of ['pause', 'resume', 'promote', 'abort'] as const) {
    app.post(`/admin/flags/:name/rollout/${action}`, async (request) => {
      const name = knownFlag(request);
      const by = operatorOf(request);
      const view = await guard(() => controls[action](name, by));
      request.log.info({ flag: name, by, action }, 'rollout changed through the admin API');
      return view;
    });
  }
}
