import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { FlagStore } from './flag-store.js';

/**
 * Prometheus metrics on a registry of our own (no global state, so several apps can live in one
 * test process). Label children are cached: resolving labels per request is measurable at proxy speeds.
 */
export function createMetrics(flags: FlagStore) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'gateway_requests_total',
    help: 'Proxied requests by route prefix, upstream and status class',
    labelNames: ['route', 'upstream', 'status_class'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gateway_request_duration_seconds',
    help: 'Latency of proxied requests as seen by the gateway',
    labelNames: ['route', 'upstream'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: 'gateway_fallbacks_total',
    help: 'GETs retried on the old upstream because the new one could not be reached',
    labelNames: ['route', 'from', 'to'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'gateway_flag_percent',
    help: 'Stored percent of each migration flag',
    labelNames: ['flag'] as const,
    registers: [registry],
    collect() {
      for (const name of flags.names()) this.set({ flag: name }, flags.get(name)?.percent ?? 0);
    },
  });
  new Gauge({
    name: 'gateway_flag_enabled',
    help: 'Whether each migration flag is enabled (0 means fully migrated)',
    labelNames: ['flag'] as const,
    registers: [registry],
    collect() {
      for (const name of flags.names()) this.set({ flag: name }, flags.get(name)?.enabled ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gateway_flag_store_connected',
    help: '1 while Redis is reachable and flag invalidations flow, 0 while routing on cached values',
    registers: [registry],
    collect() {
      this.set(flags.isConnected() ? 1 : 0);
    },
  });

  const requestChildren = new Map<string, ReturnType<typeof requests.labels>>();
  const durationChildren = new Map<string, ReturnType<typeof duration.labels>>();

  return {
    registry,
    observe(route: string, upstream: string, statusCode: number, seconds: number) {
      const statusClass = `${Math.floor(statusCode / 100)}xx`;
      const key = `${route}\0${upstream}`;
      const countKey = `${key}\0${statusClass}`;
      let counter = requestChildren.get(countKey);
      if (!counter) {
        counter = requests.labels(route, upstream, statusClass);
        requestChildren.set(countKey, counter);
      }
      counter.inc();
      let histogram = durationChildren.get(key);
      if (!histogram) {
        histogram = duration.labels(route, upstream);
        durationChildren.set(key, histogram);
      }
      histogram.observe(seconds);
    },
    fallback(route: string, from: string, to: string) {
      fallbacks.labels(route, from, to).inc();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
