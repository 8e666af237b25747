import { isAbsolute } from 'node:path';
import { envBoolean, envPort, logLevel } from '@cinemaabyss/service-kit';
import { z } from 'zod';

const serviceUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' });
const milliseconds = z.coerce
  .number({ error: 'must be a whole number of milliseconds' })
  .int('must be a whole number of milliseconds')
  .min(1, 'must be a whole number of milliseconds');

/** An optional variable; set to the empty string counts as not set. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

export const configSchema = z.object({
  PORT: envPort.default(8000),
  /** The routing policy (YAML, see routing/policy.ts); without it the built-in table applies. */
  GATEWAY_ROUTES_FILE: optional(z.string()),
  /** Override the URLs of these three upstreams (so does UPSTREAM_<NAME>_URL for any upstream). */
  MONOLITH_URL: optional(serviceUrl),
  MOVIES_SERVICE_URL: optional(serviceUrl),
  EVENTS_SERVICE_URL: optional(serviceUrl),
  /** Seed for the `movies` flag, used only while Redis holds none and this gateway never saw one (docs/gateway.md). */
  GRADUAL_MIGRATION: optional(envBoolean),
  MOVIES_MIGRATION_PERCENT: optional(
    z.coerce
      .number({ error: 'must be an integer from 0 to 100' })
      .int('must be an integer from 0 to 100')
      .min(0, 'must be an integer from 0 to 100')
      .max(100, 'must be an integer from 0 to 100'),
  ),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// URL' })
    .default('redis://127.0.0.1:6379'),
  /** Bearer token for /admin; when unset (or empty) the admin API is switched off. */
  ADMIN_TOKEN: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),
  /**
   * Where the gateway keeps the last flag values it read from Redis, to route on them when it starts while
   * Redis is down (docs/gateway.md); unset (or empty): no snapshot file.
   */
  FLAG_SNAPSHOT_FILE: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.string().refine(isAbsolute, 'must be an absolute file path').optional(),
  ),
  LOG_LEVEL: logLevel,
  /**
   * One `info` line per request (method, url, status, upstream, ms). Off by default: it costs about a fifth
   * of the gateway's throughput (docs/benchmarks.md), the upstreams already log every request under the
   * same X-Request-Id, and /metrics counts them. Failed requests are logged either way.
   */
  ACCESS_LOG: envBoolean.default(false),
  /** An upstream that sends no response headers within this time is answered with 504. */
  UPSTREAM_TIMEOUT_MS: milliseconds.default(10_000),
  /**
   * Idle keep-alive of the gateway's upstream connections. Must stay below the upstreams' own
   * keep-alive (Node's default is 5 s), or the gateway may reuse a socket the upstream is closing.
   */
  UPSTREAM_KEEP_ALIVE_MS: milliseconds.default(4_000),
  /** After SIGTERM, /ready fails for this long before the server closes, so load balancers stop sending. */
  SHUTDOWN_DELAY_MS: z.coerce
    .number({ error: 'must be a whole number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must be a whole number of milliseconds')
    .default(5_000),
});

export type Config = z.infer<typeof configSchema>;
