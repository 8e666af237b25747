import { randomUUID } from 'node:crypto';
import type { FastifyServerOptions } from 'fastify';

export interface ServiceOptions {
  logLevel: string;
  /** Extra pino options, e.g. a test stream. */
  logger?: FastifyServerOptions['logger'];
}

/**
 * Options every service's Fastify instance starts from: structured pino logs with secrets redacted,
 * and the caller's X-Request-Id reused as the request id so one id follows a call across services.
 */
export function fastifyOptions({ logLevel, logger }: ServiceOptions): FastifyServerOptions {
  return {
    logger: logger ?? {
      level: logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
  };
}
