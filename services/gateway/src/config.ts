import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { envBoolean, envPort, logLevel, shutdownDelayMs } from '@cinemaabyss/service-kit';
import { z } from 'zod';
import { shadowConfigShape } from './shadow/config.js';

const serviceUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' });
const milliseconds = z.coerce
  .number({ error: 'must be a whole number of milliseconds' })
  .int('must be a whole number of milliseconds')
  .min(1, 'must be a whole number of milliseconds');
const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `must be a whole number of ${what}` })
    .int(`must be a whole number of ${what}`)
    .min(1, `must be a whole number of ${what}`);

/** `1.2.3.4`, `10.0.0.0/8`, `::1`, `fd00::/8`, or proxy-addr's names for whole ranges. */
const isAddressOrCidr = (entry: string) => {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
};
const TRUST_PROXY_ERROR =
  'must be a number of proxy hops (e.g. 1) or a comma-separated list of addresses and CIDRs (e.g. 10.0.0.0/8,127.0.0.1)';
/** Which peers may set X-Forwarded-For: none (false), the nearest N hops, or the listed addresses. */
const trustProxy = z
  .string()
  .trim()
  .default('')
  .transform((value, ctx): false | number | string[] => {
    if (value === '') return false;
    if (/^\d+$/.test(value)) {
      if (Number(value) >= 1) return Number(value);
    } else {
      const entries = value.split(',').map((entry) => entry.trim());
      if (entries.every(isAddressOrCidr)) return entries;
    }
    ctx.addIssue({ code: 'custom', message: TRUST_PROXY_ERROR });
    return z.NEVER;
  });

/** An optional variable; set to the empty string counts as not set. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

export const configSchema = z
  .object({
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
    /** Bearer token of the operator `admin`; without it and ADMIN_TOKENS_FILE the admin API is off. */
    ADMIN_TOKEN: z.preprocess(
      (value) => (value === '' ? undefined : value),
      z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -hex 24)').optional(),
    ),
    /**
     * Named operators of the admin API: a JSON file of names, roles and token hashes (docs/gateway.md),
     * re-read when it changes, and at least every ADMIN_TOKENS_POLL_MS should a change go unnoticed.
     */
    ADMIN_TOKENS_FILE: optional(z.string()),
    ADMIN_TOKENS_POLL_MS: milliseconds.default(5_000),
    /**
     * Where the gateway keeps the last flag values it read from Redis, to route on them when it starts while
     * Redis is down (docs/gateway.md); unset (or empty): no snapshot file.
     */
    FLAG_SNAPSHOT_FILE: z.preprocess(
      (value) => (value === '' ? undefined : value),
      z.string().refine(isAbsolute, 'must be an absolute file path').optional(),
    ),
    TRUST_PROXY: trustProxy,
    /** Larger request bodies (by Content-Length) are answered 413 by the gateway itself. */
    GATEWAY_MAX_BODY_BYTES: positiveInt('bytes').default(1_048_576),
    /**
     * Request bodies are read whole before forwarding; this caps their total across in-flight requests
     * (beyond it: 503 with Retry-After). 64 MiB: a third of the gateway's 192 MiB memory limit, leaving the
     * rest for the process, responses and shadow copies.
     */
    GATEWAY_MAX_BUFFERED_BYTES: positiveInt('bytes').default(64 * 1_048_576),
    /** A client must have sent its request headers within this time, the whole request within the next. */
    CLIENT_HEADERS_TIMEOUT_MS: milliseconds.default(10_000),
    CLIENT_REQUEST_TIMEOUT_MS: milliseconds.default(30_000),
    /**
     * Idle keep-alive of client connections. Above the 60 s idle timeout of common load balancers, so the
     * gateway never closes a connection one of them is about to reuse.
     */
    CLIENT_KEEP_ALIVE_MS: milliseconds.default(72_000),
    /** Concurrent connections to each upstream; further requests wait for a free one. */
    UPSTREAM_MAX_CONNECTIONS: positiveInt('connections').default(256),
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
    /**
     * Progressive rollouts (docs/gateway.md, "Progressive rollout"): the driver's Redis lease (a dead
     * driver is replaced within two of them), how long after a window closes it is judged (every replica's
     * counts must have reached Redis: above CLUSTER_COUNTERS_FLUSH_MS plus a round trip), and the width of
     * one counting slot (well below the shortest interval).
     */
    ROLLOUT_LEASE_MS: milliseconds.default(10_000),
    ROLLOUT_SETTLE_MS: milliseconds.default(2_000),
    ROLLOUT_RESOLUTION_MS: milliseconds.default(1_000),
    /** How often each replica writes its cluster-wide counts (rollout windows) to Redis. */
    CLUSTER_COUNTERS_FLUSH_MS: milliseconds.default(1_000),
    SHUTDOWN_DELAY_MS: shutdownDelayMs(),
    ...shadowConfigShape,
  })
  .refine((config) => config.CLIENT_HEADERS_TIMEOUT_MS <= config.CLIENT_REQUEST_TIMEOUT_MS, {
    path: ['CLIENT_HEADERS_TIMEOUT_MS'],
    message: 'must not be longer than CLIENT_REQUEST_TIMEOUT_MS',
  })
  .refine((config) => config.GATEWAY_MAX_BUFFERED_BYTES >= config.GATEWAY_MAX_BODY_BYTES, {
    path: ['GATEWAY_MAX_BUFFERED_BYTES'],
    message:
      'must be at least GATEWAY_MAX_BODY_BYTES, or a body of the largest allowed size could never be accepted',
  })
  .refine((config) => config.ROLLOUT_SETTLE_MS > config.CLUSTER_COUNTERS_FLUSH_MS, {
    path: ['ROLLOUT_SETTLE_MS'],
    message: 'must be longer than CLUSTER_COUNTERS_FLUSH_MS, or windows are judged before every count is in',
  });

export type Config = z.infer<typeof configSchema>;
