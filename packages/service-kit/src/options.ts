import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyServerOptions } from 'fastify';

export interface ServiceOptions {
  logLevel: string;
  /** Extra pino options, e.g. a test stream. */
  logger?: FastifyServerOptions['logger'];
  /** Limits on how long a client may take; Node's and Fastify's defaults apply to what is left out. */
  clientTimeouts?: {
    /** The request headers must have arrived within this time. */
    headersMs: number;
    /** The whole request (headers and body) must have arrived within this time. */
    requestMs: number;
    /** An idle keep-alive connection is closed after this time. */
    keepAliveMs: number;
  };
}

/** What a caller's X-Request-Id may look like to be reused; anything else could forge or flood log lines. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The caller's X-Request-Id when it is well-formed, else a fresh UUID. */
function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Options every service's Fastify instance starts from: structured pino logs with secrets redacted,
 * and the caller's X-Request-Id reused as the request id (when well-formed) so one id follows a call
 * across services.
 */
export function fastifyOptions({ logLevel, logger, clientTimeouts }: ServiceOptions): FastifyServerOptions {
  return {
    logger: logger ?? {
      level: logLevel,
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
    requestIdHeader: false,
    genReqId: requestIdOf,
    ...(clientTimeouts && {
      requestTimeout: clientTimeouts.requestMs,
      keepAliveTimeout: clientTimeouts.keepAliveMs,
      http: {
        headersTimeout: clientTimeouts.headersMs,
        // Node looks for overdue requests only this often (30 s by default), so a short timeout needs it.
        connectionsCheckingInterval: Math.min(1_000, clientTimeouts.headersMs),
      },
    }),
  };
}
