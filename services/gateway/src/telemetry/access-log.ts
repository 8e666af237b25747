import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * Fastify's request logging, reduced to what a gateway needs: one access-log line per request, written
 * when the response is finished (Fastify's default writes two, "incoming request" and "request completed",
 * with the whole request and reply serialized). With `enabled` false only failed requests are logged.
 */
export class AccessLog extends LogController {
  constructor(private readonly enabled: boolean) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) {
      reply.log.error({ err: error, statusCode: reply.statusCode }, 'request errored');
    } else if (this.enabled) {
      request.log.info(
        {
          method: request.method,
          url: request.url,
          statusCode: reply.statusCode,
          upstream: request.upstreamName || undefined,
          reason: request.decision?.reason,
          ms: Math.round(reply.elapsedTime * 100) / 100,
        },
        'request completed',
      );
    }
  }
}
