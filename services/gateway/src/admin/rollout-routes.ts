import { HttpError } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import type { Rollouts } from '../rollout/rollouts.js';
import { operatorOf } from './operators.js';
import { schemaOf, type ZodTypeProvider } from './schema.js';

/**
 * The rollout of a flag (docs/gateway.md, "Progressive rollout"). Registered inside the admin routes, so
 * behind their token and rate limit, known flags only.
 */
export async function rolloutRoutes(app: FastifyInstance, { rollouts }: { rollouts: Rollouts }) {
  const admin = app.withTypeProvider<ZodTypeProvider>();
  const { controls, guard } = rollouts;

  admin.post(
    '/admin/flags/:name/rollout',
    { schema: schemaOf('POST /admin/flags/:name/rollout', 201) },
    async (request, reply) => {
      const { name } = request.params;
      const plan = request.body;
      const by = operatorOf(request);
      const view = await guard(() => controls.start(name, plan, by));
      request.log.info({ flag: name, by, plan }, 'rollout started through the admin API');
      return reply.code(201).send(view);
    },
  );

  admin.get(
    '/admin/flags/:name/rollout',
    { schema: schemaOf('GET /admin/flags/:name/rollout') },
    async (request) => {
      const { name } = request.params;
      const view = await guard(() => controls.view(name));
      if (!view) throw new HttpError(404, `no rollout of "${name}"; start one with POST`);
      return view;
    },
  );

  for (const action of ['pause', 'resume', 'promote', 'abort'] as const) {
    admin.post(
      `/admin/flags/:name/rollout/${action}`,
      { schema: schemaOf(`POST /admin/flags/:name/rollout/${action}`) },
      async (request) => {
        const { name } = request.params;
        const by = operatorOf(request);
        const view = await guard(() => controls[action](name, by));
        request.log.info({ flag: name, by, action }, 'rollout changed through the admin API');
        return view;
      },
    );
  }
}
