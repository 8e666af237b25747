import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FlagStore } from '../flags/store.js';
import { applyShadowChange, resetShadow, type ShadowSettings } from '../shadow/settings.js';
import type { Shadowing } from '../shadow/shadowing.js';
import { operatorOf } from './operators.js';
import { schemaOf, type ZodTypeProvider } from './schema.js';

/**
 * The shadow settings and report of a flag (docs/gateway.md, Shadow traffic). Registered inside the
 * admin routes, so behind the same token, known flags only, and a Redis outage is the same 503.
 */
export async function shadowRoutes(
  app: FastifyInstance,
  { flags, shadowing }: { flags: FlagStore; shadowing: Shadowing },
) {
  const admin = app.withTypeProvider<ZodTypeProvider>();
  const store = async (request: FastifyRequest, name: string, next: ShadowSettings) => {
    const by = operatorOf(request);
    const entry = await flags.updateShadow(name, next, by);
    request.log.info({ flag: name, by, shadow: next }, 'shadow settings changed through the admin API');
    return { name, ...flags.get(name)!.shadow, change: entry };
  };

  admin.get(
    '/admin/flags/:name/shadow',
    { schema: schemaOf('GET /admin/flags/:name/shadow') },
    async (request) => {
      const { name } = request.params;
      return { name, ...(await shadowing.report(name, flags.get(name)!.shadow)) };
    },
  );

  admin.put(
    '/admin/flags/:name/shadow',
    { schema: schemaOf('PUT /admin/flags/:name/shadow') },
    async (request) => {
      const { name } = request.params;
      return store(request, name, applyShadowChange(flags.get(name)!.shadow, request.body, new Date()));
    },
  );

  admin.post(
    '/admin/flags/:name/shadow/reset',
    { schema: schemaOf('POST /admin/flags/:name/shadow/reset') },
    async (request) => {
      const { name } = request.params;
      return store(request, name, resetShadow(flags.get(name)!.shadow, new Date()));
    },
  );
}
