import { LATENCY_BUCKETS } from '@cinemaabyss/service-kit';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { FlagStore } from '../flags/store.js';
import type { Decision } from '../routing/decide.js';
import type { PolicyRoute } from '../routing/policy.js';

/**
 * Requests and latency of one route and upstream, counted in plain numbers. prom-client's observe()
 * hashes the labels and finds buckets through number-keyed objects on every call; on the proxy's hot
 * path that cost 6-16 % of the gateway's throughput (bench/gateway), so requests are counted here and
 * rendered in the Prometheus text format when /metrics is scraped.
 */
class Traffic {
  /** Requests by status class, 1xx to 5xx. */
  readonly byStatusClass = [0, 0, 0, 0, 0];
  /** Requests per latency bucket (not cumulative); the last slot holds those above every bound. */
  readonly byBucket: number[] = new Array(LATENCY_BUCKETS.length + 1).fill(0);
  count = 0;
  seconds = 0;

  /** `labels` is preformatted; route prefixes and upstream names are validated, so need no escaping. */
  constructor(readonly labels: string) {}

  record(statusCode: number, seconds: number): void {
    const statusClass = Math.floor(statusCode / 100) - 1;
    if (statusClass >= 0 && statusClass < 5)
      this.byStatusClass[statusClass] = (this.byStatusClass[statusClass] ?? 0) + 1;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[bucket] ?? 0)) bucket++;
    this.byBucket[bucket] = (this.byBucket[bucket] ?? 0) + 1;
    this.count++;
    this.seconds += seconds;
  }
}

function renderTraffic(traffic: Traffic[]): string {
  const requests = 'gateway_requests_total';
  const duration = 'gateway_request_duration_seconds';
  const lines = [
    `# HELP ${requests} Proxied requests by route prefix, upstream and status class`,
    `# TYPE ${requests} counter`,
  ];
  for (const { labels, byStatusClass } of traffic) {
    byStatusClass.forEach((count, i) => {
      if (count > 0) lines.push(`${requests}{${labels},status_class="${i + 1}xx"} ${count}`);
    });
  }
  lines.push(
    `# HELP ${duration} Latency of proxied requests as seen by the gateway`,
    `# TYPE ${duration} histogram`,
  );
  for (const { labels, byBucket, count, seconds } of traffic) {
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((bound, i) => {
      cumulative += byBucket[i] ?? 0;
      lines.push(`${duration}_bucket{${labels},le="${bound}"} ${cumulative}`);
    });
    lines.push(
      `${duration}_bucket{${labels},le="+Inf"} ${count}`,
      `${duration}_sum{${labels}} ${seconds}`,
      `${duration}_count{${labels}} ${count}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function renderDecisions(decisions: Map<Decision, { flag: string; count: number }>): string {
  const name = 'gateway_routing_decisions_total';
  // Routes sharing a flag share label sets: sum them.
  const byLabels = new Map<string, number>();
  for (const [{ upstream, reason }, { flag, count }] of decisions) {
    const labels = `flag="${flag}",upstream="${upstream}",reason="${reason}"`;
    byLabels.set(labels, (byLabels.get(labels) ?? 0) + count);
  }
  const lines = [
    `# HELP ${name} Requests on migrating routes by flag, chosen upstream and the reason for the choice`,
    `# TYPE ${name} counter`,
    ...[...byLabels].map(([labels, count]) => `${name}{${labels}} ${count}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The labels of one route and upstream. On a migrating route they also name the flag and the side, so a
 * dashboard or an alert compares old and new per flag without knowing the routing policy.
 */
function trafficLabels(routes: readonly PolicyRoute[], route: string, upstream: string): string {
  const migrate = routes.find((r) => r.prefix === route)?.migrate;
  const labels = `route="${route}",upstream="${upstream}"`;
  if (!migrate) return labels;
  return `${labels},flag="${migrate.flag}",side="${upstream === migrate.to ? 'new' : 'old'}"`;
}

/**
 * The gateway's Prometheus metrics: per-request traffic counted by `record`, everything else (process
 * metrics, flag values, fallbacks) through prom-client on a registry of our own, so several apps can
 * live in one test process.
 */
export function createMetrics(
  flags: Pick<FlagStore, 'names' | 'get' | 'isConnected'>,
  routes: readonly PolicyRoute[] = [],
) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const fallbacks = new Counter({
    name: 'gateway_fallbacks_total',
    help: 'GETs retried on the old upstream because the new one could not be reached',
    labelNames: ['route', 'flag', 'from', 'to'] as const,
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

  const authFailures = new Counter({
    name: 'gateway_admin_auth_failures_total',
    help: 'Admin requests refused for a missing or wrong token (401) or for too many such failures (429)',
    labelNames: ['status'] as const,
    registers: [registry],
  });

  /** Route prefix → upstream name → its traffic. */
  const traffic = new Map<string, Map<string, Traffic>>();
  /** Routing decisions on migrating routes, counted per (frozen, per-route) decision object. */
  const decisions = new Map<Decision, { flag: string; count: number }>();

  return {
    contentType: registry.contentType,
    /** Counts one proxied request; called once per request, so it allocates nothing after the first. */
    record(route: string, upstream: string, statusCode: number, seconds: number): void {
      let byUpstream = traffic.get(route);
      if (!byUpstream) {
        byUpstream = new Map();
        traffic.set(route, byUpstream);
      }
      let counted = byUpstream.get(upstream);
      if (!counted) {
        counted = new Traffic(trafficLabels(routes, route, upstream));
        byUpstream.set(upstream, counted);
      }
      counted.record(statusCode, seconds);
    },
    /** Counts a decision on a migrating route: a Map lookup by the decision object, no label strings. */
    decided(flag: string, decision: Decision): void {
      const counted = decisions.get(decision);
      if (counted) counted.count++;
      else decisions.set(decision, { flag, count: 1 });
    },
    fallback(route: string, from: string, to: string): void {
      const flag = routes.find((r) => r.prefix === route)?.migrate?.flag ?? '';
      fallbacks.labels(route, flag, from, to).inc();
    },
    authFailure(status: 401 | 429): void {
      authFailures.labels(String(status)).inc();
    },
    /** The whole exposition for GET /metrics. */
    async render(): Promise<string> {
      const all = [...traffic.values()].flatMap((byUpstream) => [...byUpstream.values()]);
      return `${await registry.metrics()}\n${renderTraffic(all)}${renderDecisions(decisions)}`;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
