import { parseInput } from '@cinemaabyss/service-kit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FlagStore } from '../flags/store.js';
import { applyShadowChange, resetShadow, shadowChangeSchema } from '../shadow/settings.js';
import type { Shadowing } from '../shadow/shadowing.js';

/**
 * The shadow settings and report of a flag (docs/gateway.md, Shadow traffic). Registered inside the
 * admin routes, so behind the same token, and a Redis outage is the same 503.
 */
export async function shadowRoutes(
  app: FastifyInstance,
  {
    flags,
    shadowing,
    knownFlag,
    operatorOf,
  }: {
    flags: FlagStore;
    shadowing: Shadowing;
    knownFlag: (request: FastifyRequest) => string;
    operatorOf: (request: FastifyRequest) => string;
  },
) {
  const report = async (name: string) => ({
    name,
    ...(await shadowing.report(name, flags.get(name)!.shadow)),
  });
  const store = async (
    request: FastifyRequest,
    name: string,
    next: Parameters<FlagStore['updateShadow']>[1],
  ) => {
    const by = operatorOf(request);
    const entry = await flags.updateShadow(name, next, by);
    request.log.info({ flag: name, by, shadow: next }, 'shadow settings changed through the admin API');
    return { name, ...flags.get(name)!.shadow, change: entry };
  };

  app.get('/admin/flags/:name/shadow', async (request) => report(knownFlag(request)));

  app.put('/admin/flags/:name/shadow', async (request) => {
    const name = knownFlag(request);
    const change = parseInput(shadowChangeSchema, request.body, 'body');
    return store(request, name, applyShadowChange(flags.get(name)!.shadow, change, new Date()));
  });

  app.post('/admin/flags/:name/shadow/reset', async (request) => {
    const name = knownFlag(request);
    return store(request, name, resetShadow(flags.get(name)!.shadow, new Date()));
  });
}
