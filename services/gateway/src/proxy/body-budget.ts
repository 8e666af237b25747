import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { MetricFamily } from '../telemetry/exposition.js';

/** Seconds a refused client is asked to wait: buffered bodies are usually forwarded within one. */
const RETRY_AFTER_SECONDS = 1;

/**
 * The bytes of request bodies the gateway holds in memory at once (GATEWAY_MAX_BUFFERED_BYTES). Bodies are
 * read whole before forwarding (forward.ts), so without a total a few hundred slow uploads of 1 MiB each
 * exhaust the gateway's memory. A body takes its Content-Length, or the body limit when chunked (the most
 * it may grow to), from before it is read until its request is over.
 */
export class BodyBudget {
  private inUse = 0;
  private refusals = 0;

  constructor(
    readonly limit: number,
    private readonly maxBodyBytes: number,
  ) {}

  get used(): number {
    return this.inUse;
  }

  /** The one decision: the bytes a request's body takes, 0 if it has none, or undefined when they do not fit. */
  take(headers: FastifyRequest['headers']): number | undefined {
    const length = headers['content-length'];
    const bytes =
      length !== undefined
        ? Math.min(Number(length), this.maxBodyBytes)
        : headers['transfer-encoding'] !== undefined
          ? this.maxBodyBytes
          : 0;
    if (!(bytes > 0)) return 0;
    if (this.inUse + bytes > this.limit) {
      this.refusals++;
      return undefined;
    }
    this.inUse += bytes;
    return bytes;
  }

  release(bytes: number): void {
    this.inUse -= bytes;
  }

  /**
   * onRequest hook: refuses with 503 a body that does not fit, and gives the bytes back once the response
   * is over, whether answered, failed, or cut off by the client or a timeout (the response's `close`).
   * Callback-style: no promise per request on the hot path.
   */
  hook() {
    return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
      const bytes = this.take(request.headers);
      if (bytes === undefined) {
        // As for the 413 in edge.ts: the unread body is discarded by Node after the answer.
        if (request.headers.expect !== undefined) reply.header('connection', 'close');
        reply
          .code(503)
          .header('retry-after', String(RETRY_AFTER_SECONDS))
          .send({
            error: `the gateway's budget of buffered request bodies (GATEWAY_MAX_BUFFERED_BYTES=${this.limit}) is exhausted; retry later`,
          });
        return;
      }
      if (bytes > 0) reply.raw.once('close', () => this.release(bytes));
      done();
    };
  }

  metricFamilies(): MetricFamily[] {
    return [
      {
        name: 'gateway_buffered_request_bytes',
        help: 'Bytes of request bodies the gateway holds (or has reserved) for in-flight requests.',
        type: 'gauge',
        samples: [{ value: this.inUse }],
      },
      {
        name: 'gateway_buffered_request_bytes_limit',
        help: 'The budget of buffered request-body bytes (GATEWAY_MAX_BUFFERED_BYTES).',
        type: 'gauge',
        samples: [{ value: this.limit }],
      },
      {
        name: 'gateway_body_budget_refusals_total',
        help: 'Requests answered 503 because their body would have taken the buffered bytes beyond the budget.',
        type: 'counter',
        samples: [{ value: this.refusals }],
      },
    ];
  }
}
