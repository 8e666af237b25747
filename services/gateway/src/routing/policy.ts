import { readFileSync } from 'node:fs';
import { percent } from '@cinemaabyss/admin-contract';
import { ConfigError, issuePath } from '@cinemaabyss/service-kit';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes');
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')
  .transform((header) => header.toLowerCase());
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const flagSchema = z.strictObject({
  /** Used only when Redis holds no value and no replica ever saw one (docs/gateway.md). */
  seed: z.strictObject({ enabled: z.boolean(), percent }).default({ enabled: true, percent: 0 }),
  /** Header whose value buckets a request; a request without it is split at random. */
  stickiness: headerName.default('x-user-id'),
  /** Methods this flag moves; the others stay on the old side. Absent: all. */
  methods: z
    .array(z.enum(METHODS, { error: `must be one of ${METHODS.join(', ')}` }))
    .min(1)
    .optional(),
  /** A request whose header of this name says `new` or `old` is pinned to that side. */
  force: headerName.optional(),
  /**
   * The data domain of the service this flag moves to, when it owns a copy of the data: the status the
   * domain's sync process publishes (GET /admin/data/<domain>) is shown on the flag's console card.
   */
  data: name.optional(),
});

const routeSchema = z.strictObject({
  /** Path prefix; the longest matching prefix wins, path and query pass through unchanged. */
  prefix: z.string().regex(/^\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/, 'must be a path like /api/movies'),
  /** Where the traffic goes (for a migrating route: the old side). */
  upstream: name,
  /** Present while a domain is being strangled: `flag` decides how much goes to `to`. */
  migrate: z.strictObject({ flag: name, to: name }).optional(),
});

/** The gateway's whole routing policy: moving another domain out of the monolith is configuration. */
export const policySchema = z
  .strictObject({
    upstreams: z.record(name, z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' })),
    routes: z.array(routeSchema).min(1, 'needs at least one route'),
    flags: z.record(name, flagSchema).default({}),
    /** Upstream paths the gateway does not expose (answered 404 like any unknown path). */
    internal: z
      .array(z.string().regex(/^\/[A-Za-z0-9/_-]*$/, 'must be a path like /api/events/recent'))
      .default([]),
  })
  .superRefine((policy, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    const prefixes = new Set<string>();
    const usedFlags = new Set<string>();
    policy.routes.forEach((route, i) => {
      if (prefixes.has(route.prefix)) issue(['routes', i, 'prefix'], `duplicate prefix ${route.prefix}`);
      prefixes.add(route.prefix);
      if (!(route.upstream in policy.upstreams))
        issue(['routes', i, 'upstream'], `unknown upstream "${route.upstream}"`);
      if (!route.migrate) return;
      const { flag, to } = route.migrate;
      if (!(to in policy.upstreams)) issue(['routes', i, 'migrate', 'to'], `unknown upstream "${to}"`);
      if (to === route.upstream) issue(['routes', i, 'migrate', 'to'], `is the route's own upstream "${to}"`);
      if (!(flag in policy.flags)) issue(['routes', i, 'migrate', 'flag'], `unknown flag "${flag}"`);
      usedFlags.add(flag);
    });
    for (const flag of Object.keys(policy.flags)) {
      if (!usedFlags.has(flag)) issue(['flags', flag], 'no route migrates with this flag');
      // The admin API's /admin/flags/export and /import would shadow a flag of these names.
      if (flag === 'export' || flag === 'import') issue(['flags', flag], 'is a reserved name');
    }
  });

export type Policy = z.infer<typeof policySchema>;
export type PolicyRoute = Policy['routes'][number];
export type PolicyFlag = Policy['flags'][string];

/** `UPSTREAM_<NAME>_URL` (dashes as underscores) overrides one upstream's URL. */
export const upstreamVariable = (upstream: string) =>
  `UPSTREAM_${upstream.toUpperCase().replaceAll('-', '_')}_URL`;

/** The table that applies without GATEWAY_ROUTES_FILE; equal to the repository's routes.yaml. */
export const BUILT_IN_POLICY = {
  upstreams: {
    monolith: 'http://127.0.0.1:8080',
    movies: 'http://127.0.0.1:8081',
    events: 'http://127.0.0.1:8082',
  },
  routes: [
    { prefix: '/api/movies', upstream: 'monolith', migrate: { flag: 'movies', to: 'movies' } },
    { prefix: '/api/events', upstream: 'events' },
    { prefix: '/api', upstream: 'monolith' },
  ],
  flags: { movies: { seed: { enabled: true, percent: 0 }, data: 'movies' } },
  // The latest processed events carry users' names, emails and payment details.
  internal: ['/api/events/recent'],
};

/** What the environment says about the policy (validated in config.ts); undefined where not set. */
export interface PolicyEnvironment {
  GATEWAY_ROUTES_FILE?: string | undefined;
  MONOLITH_URL?: string | undefined;
  MOVIES_SERVICE_URL?: string | undefined;
  EVENTS_SERVICE_URL?: string | undefined;
  GRADUAL_MIGRATION?: boolean | undefined;
  MOVIES_MIGRATION_PERCENT?: number | undefined;
}

/**
 * Reads the routing policy: the YAML file GATEWAY_ROUTES_FILE names, or the built-in table. Environment
 * overrides (upstream URLs, the `movies` seed) are applied before validation, so the result is checked
 * whole. Any problem throws a ConfigError naming the entry: `routes[2].migrate.to: unknown upstream "users"`.
 */
export function loadPolicy(
  config: PolicyEnvironment,
  env: Record<string, string | undefined> = process.env,
): Policy {
  const file = config.GATEWAY_ROUTES_FILE;
  const raw = file ? readPolicyFile(file) : structuredClone(BUILT_IN_POLICY);
  if (isRecord(raw)) applyEnvironment(raw, config, env);
  const result = policySchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issuePath(issue.path)}: ${issue.message}`);
  throw new ConfigError(`Invalid ${file ? `routes file ${file}` : 'built-in routes'}:\n${lines.join('\n')}`);
}

function readPolicyFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`GATEWAY_ROUTES_FILE: cannot read ${file} (${(error as Error).message})`);
  }
  try {
    return parseYaml(text);
  } catch (error) {
    throw new ConfigError(`GATEWAY_ROUTES_FILE: ${file} is not valid YAML: ${(error as Error).message}`);
  }
}

function applyEnvironment(
  raw: Record<string, unknown>,
  config: PolicyEnvironment,
  env: Record<string, string | undefined>,
): void {
  const legacy: Record<string, string | undefined> = {
    monolith: config.MONOLITH_URL,
    movies: config.MOVIES_SERVICE_URL,
    events: config.EVENTS_SERVICE_URL,
  };
  if (isRecord(raw.upstreams)) {
    for (const upstream of Object.keys(raw.upstreams)) {
      const override = env[upstreamVariable(upstream)] || legacy[upstream];
      if (override) raw.upstreams[upstream] = override;
    }
  }
  // GRADUAL_MIGRATION and MOVIES_MIGRATION_PERCENT predate the file and keep seeding `movies`.
  const movies = isRecord(raw.flags) ? raw.flags.movies : undefined;
  if (isRecord(movies)) {
    const seed = isRecord(movies.seed) ? movies.seed : { enabled: true, percent: 0 };
    if (config.GRADUAL_MIGRATION !== undefined) seed.enabled = config.GRADUAL_MIGRATION;
    if (config.MOVIES_MIGRATION_PERCENT !== undefined) seed.percent = config.MOVIES_MIGRATION_PERCENT;
    movies.seed = seed;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
