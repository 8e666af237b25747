import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Upper bounds of every service's request latency histogram, in seconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Where every service serves its metrics: Prometheus' default, so scrape configs need not name it. */
export const METRICS_PATH = '/metrics';

/** The route label of a request no route matched: raw URLs would give every scanner its own series. */
const UNMATCHED_ROUTE = 'unmatched';

/** A service's Prometheus registry and the prefix of its metric names, for modules that add their own. */
export interface ServiceMetrics {
  readonly prefix: string;
  readonly registry: Registry;
}

/**
 * Prometheus metrics for a service, served on GET /metrics: the default process metrics, and every
 * request as `<prefix>_requests_total{route,method,status_class}` and
 * `<prefix>_request_duration_seconds{route,method}`, by route template. Scrapes are not counted, so a
 * scrape never changes what it reports. A registry of its own, so several apps can live in one test process.
 */
export function serviceMetrics(app: FastifyInstance, prefix: string): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: `${prefix}_requests_total`,
    help: 'Requests answered, by route template, method and status class',
    labelNames: ['route', 'method', 'status_class'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${prefix}_request_duration_seconds`,
    help: 'Time from receiving a request to the end of its answer, by route template and method',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    if (route !== METRICS_PATH) {
      const method = request.method;
      requests.inc({ route, method, status_class: `${Math.floor(reply.statusCode / 100)}xx` });
      duration.observe({ route, method }, reply.elapsedTime / 1000);
    }
    done();
  });
  app.get(METRICS_PATH, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  return { prefix, registry };
}
