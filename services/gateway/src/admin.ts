import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError, parseInput } from '@cinemaabyss/service-kit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type FlagStore, FlagStoreUnavailableError } from './flag-store.js';
import { effectivePercent, flagChangeSchema } from './flags.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Operator API for the migration flags, behind `Authorization: Bearer <ADMIN_TOKEN>`. Registered only
 * when a token is configured; without one the routes do not exist (404).
 */
export async function adminRoutes(
  app: FastifyInstance,
  { token, flags }: { token: string; flags: FlagStore },
) {
  // Comparing fixed-length digests keeps the comparison constant-time whatever the caller sends.
  const expected = digest(`Bearer ${token}`);
  app.addHook('onRequest', async (request, reply) => {
    const given = request.headers.authorization ?? '';
    if (!timingSafeEqual(digest(given), expected)) {
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError(401, 'missing or invalid bearer token');
    }
  });

  const params = z.object({ name: z.string() });
  const knownFlag = (request: FastifyRequest) => {
    const { name } = parseInput(params, request.params, 'params');
    if (!flags.get(name))
      throw new HttpError(404, `unknown flag "${name}"; known flags: ${flags.names().join(', ')}`);
    return name;
  };
  const describe = (name: string) => {
    const flag = flags.get(name)!;
    return {
      name,
      enabled: flag.enabled,
      percent: flag.percent,
      effectivePercent: effectivePercent(flag),
      source: flag.source,
    };
  };
  // Answered here: the shared error handler hides the message of every 5xx, and this one helps the
  // operator. Anything else goes on to the shared handler.
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof FlagStoreUnavailableError) return reply.code(503).send({ error: error.message });
    throw error;
  });

  app.get('/admin/flags', async () => ({
    redis: flags.isConnected() ? 'connected' : 'disconnected',
    flags: flags.names().map(describe),
  }));

  app.get('/admin/flags/:name', async (request) => describe(knownFlag(request)));

  app.put('/admin/flags/:name', async (request) => {
    const name = knownFlag(request);
    const change = parseInput(flagChangeSchema, request.body, 'body');
    const operator = request.headers['x-operator'];
    const by = `${typeof operator === 'string' && operator !== '' ? operator.slice(0, 100) : 'admin'} (${request.ip})`;
    const entry = await flags.update(name, change, by);
    request.log.info(
      { flag: name, by, old: entry.old, new: entry.new },
      'flag changed through the admin API',
    );
    return { ...describe(name), change: entry };
  });

  app.get('/admin/flags/:name/history', async (request) => {
    const name = knownFlag(request);
    return { name, history: await flags.history(name) };
  });
}
