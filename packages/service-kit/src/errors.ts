import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { z } from 'zod';

/** An error whose status and message are safe to show to the client. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Validates request input with a zod schema. On failure it throws a 400 whose message names each
 * failing field, e.g. `body.rating: expected number, received string`.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'params',
): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = [where, ...issue.path.map(String)].join('.');
    return `${field}: ${issue.message}`;
  });
  throw new HttpError(400, problems.join('; '));
}

/** A zod issue's path as a person reads it: `routes[2].migrate.to` (`(file)` for the whole document). */
export function issuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(file)';
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

/**
 * Every error leaves as JSON `{"error": "..."}`: client mistakes keep their 4xx status and message,
 * anything unexpected is logged and answered with a bare 500 that leaks nothing.
 */
export const errorHandling = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
      const status = error.statusCode ?? 500;
      // A 5xx HttpError is deliberate ("database unavailable"): its message is safe and tells the client
      // to retry; anything else unexpected leaks nothing.
      if (status >= 500 && error instanceof HttpError) {
        request.log.warn({ err: error }, 'request failed: dependency unavailable');
        return reply.code(status).send({ error: error.message });
      }
      if (status >= 500) {
        request.log.error({ err: error }, 'request failed');
        return reply.code(status).send({ error: 'Internal Server Error' });
      }
      // Fastify's own client errors (bad JSON, wrong content type, body too large) carry a 4xx status.
      return reply.code(status).send({ error: error.message });
    });
    app.setNotFoundHandler((request, reply) =>
      reply.code(404).send({ error: `Route ${request.method} ${request.url} not found` }),
    );
  },
  { name: 'error-handling' },
);
