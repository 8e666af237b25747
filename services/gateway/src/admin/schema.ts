import type { AdminRoute } from '@cinemaabyss/admin-contract';
import { ADMIN_API } from '@cinemaabyss/admin-contract';
import { parseInput } from '@cinemaabyss/service-kit';
import type { FastifyInstance, FastifyTypeProvider } from 'fastify';
import type { z } from 'zod';

/** Fastify's types for a route whose schemas are zod's: a handler sees the parsed params and body. */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends z.ZodType ? z.output<this['schema']> : unknown;
  serializer: this['schema'] extends z.ZodType ? z.input<this['schema']> : unknown;
}

const PARTS = { body: 'body', params: 'params', querystring: 'query' } as const;

/**
 * Makes the admin API's zod schemas the routes' own: input is parsed before the handler runs, and refused
 * with the same 400 as parseInput (`body.steps: must end at 100`); answers are sent as JSON, their schema
 * saying what they hold (the gateway builds them, so they are not parsed again on the way out).
 */
export function useZodSchemas(app: FastifyInstance) {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const where = PARTS[httpPart as keyof typeof PARTS];
    if (!where) throw new Error(`no zod validation for ${httpPart}`);
    return (data: unknown) => {
      try {
        return { value: parseInput(schema as z.ZodType, data, where) };
      } catch (error) {
        return { error: error as Error };
      }
    };
  });
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  return app.withTypeProvider<ZodTypeProvider>();
}

type Contract<R extends AdminRoute> = (typeof ADMIN_API)[R];

/**
 * A route's schema for Fastify, from the contract: `schema: schemaOf('PUT /admin/flags/:name')`, so the
 * handler's params and body have the contract's types.
 */
export function schemaOf<R extends AdminRoute>(route: R, status = 200) {
  const { answer, ...input } = ADMIN_API[route] as Contract<R> & { answer: z.ZodType };
  return { ...input, response: { [status]: answer } } as Omit<Contract<R>, 'answer'> & {
    response: Record<number, Contract<R>['answer']>;
  };
}
