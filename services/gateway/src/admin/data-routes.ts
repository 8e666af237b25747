import type { FastifyInstance } from 'fastify';
import type { DataStatusStore } from '../data/status.js';
import { operatorOf } from './operators.js';
import { schemaOf, type ZodTypeProvider } from './schema.js';

/**
 * A data domain's status (replication lag, retained WAL, parity, the connector) and the request for a
 * parity pass now (docs/gateway.md, Admin API). Registered inside the admin routes: behind the same token,
 * a viewer may read, only an operator may ask for a pass; a Redis outage is the same 503.
 */
export async function dataRoutes(app: FastifyInstance, { data }: { data: DataStatusStore }) {
  const admin = app.withTypeProvider<ZodTypeProvider>();

  admin.get('/admin/data/:domain', { schema: schemaOf('GET /admin/data/:domain') }, async (request) =>
    data.read(request.params.domain),
  );

  admin.post(
    '/admin/data/:domain/verify',
    { schema: schemaOf('POST /admin/data/:domain/verify', 202) },
    async (request, reply) => {
      const { domain } = request.params;
      const answer = await data.requestVerify(domain, operatorOf(request));
      request.log.info(
        { domain, by: answer.requestedBy, receivers: answer.receivers },
        'parity pass requested through the admin API',
      );
      return reply.code(202).send(answer);
    },
  );
}
