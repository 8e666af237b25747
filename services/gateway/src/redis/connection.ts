import { HttpError } from '@cinemaabyss/service-kit';
import type { FastifyBaseLogger } from 'fastify';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection that fails fast: no offline queue, no retried commands, a 1 s connect timeout. Nothing
 * on the request path may wait for Redis; a counter flush retries on its own; an operator's call while
 * Redis is down gets a 503 (RedisUnavailableError), not a wait. Reconnects every 100 ms to 1 s.
 */
export function failFastRedis(
  url: string,
  name: string,
  log: FastifyBaseLogger,
  options: Pick<RedisOptions, 'autoResubscribe'> = {},
): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
    connectionName: name,
    ...options,
  });
  redis.on('error', (error: Error) => log.debug({ err: error }, `${name}: connection error`));
  return redis;
}

/**
 * The one answer to an operator's call while Redis is unreachable: 503, naming the store and what the
 * outage means for it. An HttpError, so the shared error handler sends it as it is.
 */
export class RedisUnavailableError extends HttpError {
  constructor(store: string, consequence = 'nothing was changed') {
    super(503, `${store} (Redis) is unreachable; ${consequence}; retry when /ready reports redis connected`);
  }
}

/**
 * Runs `action` on `redis`, failing with `unavailable()` at once when the connection is not ready, or when
 * the action failed because it dropped meanwhile. An HttpError (a 4xx, another store's outage) passes
 * through unchanged.
 */
export async function whileReady<T>(
  redis: Pick<Redis, 'status'>,
  unavailable: () => RedisUnavailableError,
  action: () => Promise<T>,
): Promise<T> {
  if (redis.status !== 'ready') throw unavailable();
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof HttpError) && redis.status !== 'ready') throw unavailable();
    throw error;
  }
}
