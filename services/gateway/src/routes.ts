import { z } from 'zod';
import type { Config } from './config.js';
import type { FlagValue } from './flags.js';

const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes');

const routeSchema = z.object({
  /** Path prefix; the longest matching prefix wins, path and query pass through unchanged. */
  prefix: z.string().regex(/^\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/, 'must be a path like /api/movies'),
  /** Where the traffic goes (for a migrating route: the old side). */
  upstream: name,
  /** Present while a domain is being strangled: `flag` decides how much goes to `to`. */
  migration: z.object({ flag: name, to: name }).optional(),
});

/**
 * The gateway's whole routing policy as data. Moving another domain (users, payments) out of the
 * monolith is an entry here plus its upstream URL, no new code.
 */
export const routeTableSchema = z
  .object({
    upstreams: z.record(name, z.url({ protocol: /^https?$/ })),
    routes: z.array(routeSchema).min(1),
    /** Upstream paths the gateway does not expose (answered 404 like any unknown path), e.g. operator-only reads. */
    internalPaths: z
      .array(z.string().regex(/^\/[A-Za-z0-9/_-]*$/, 'must be a path like /api/events/recent'))
      .default([]),
    /** Value each flag takes when Redis has none yet (and while Redis was never reachable). */
    flagSeeds: z.record(name, z.object({ enabled: z.boolean(), percent: z.number().int().min(0).max(100) })),
  })
  .superRefine((table, ctx) => {
    const seen = new Set<string>();
    table.routes.forEach((route, i) => {
      if (seen.has(route.prefix))
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'prefix'],
          message: `duplicate prefix ${route.prefix}`,
        });
      seen.add(route.prefix);
      for (const target of [route.upstream, route.migration?.to]) {
        if (target !== undefined && !(target in table.upstreams)) {
          ctx.addIssue({ code: 'custom', path: ['routes', i], message: `unknown upstream "${target}"` });
        }
      }
      if (route.migration && !(route.migration.flag in table.flagSeeds)) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'migration', 'flag'],
          message: `flag "${route.migration.flag}" has no seed`,
        });
      }
    });
  });

export type RouteTable = z.infer<typeof routeTableSchema>;
export type Route = RouteTable['routes'][number];

export function routeTableFromConfig(config: Config): RouteTable {
  const seed: FlagValue = { enabled: config.GRADUAL_MIGRATION, percent: config.MOVIES_MIGRATION_PERCENT };
  return routeTableSchema.parse({
    upstreams: {
      monolith: config.MONOLITH_URL,
      movies: config.MOVIES_SERVICE_URL,
      events: config.EVENTS_SERVICE_URL,
    },
    routes: [
      { prefix: '/api/movies', upstream: 'monolith', migration: { flag: 'movies', to: 'movies' } },
      { prefix: '/api/events', upstream: 'events' },
      { prefix: '/api', upstream: 'monolith' },
    ],
    // The latest processed events carry users' names, emails and payment details.
    internalPaths: ['/api/events/recent'],
    flagSeeds: { movies: seed },
  });
}
