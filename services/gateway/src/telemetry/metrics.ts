import { LATENCY_BUCKETS } from '@cinemaabyss/service-kit';
import { Counter, Gauge } from 'prom-client';
import type { FlagStore } from '../flags/store.js';
import type { Decision, RoutePlan } from '../routing/decide.js';
import { Exposition, type Labels, type MetricFamily, type Sample } from './exposition.js';

/**
 * Requests and latency of one route and upstream, counted in plain numbers. prom-client's observe()
 * hashes the labels and finds buckets through number-keyed objects on every call; on the proxy's hot
 * path that cost 6-16 % of the gateway's throughput (bench/gateway), so requests are counted here and
 * handed to the exposition when /metrics is scraped.
 */
class Traffic {
  /** Requests by status class, 1xx to 5xx. */
  readonly byStatusClass = [0, 0, 0, 0, 0];
  /** Requests per latency bucket (not cumulative); the last slot holds those above every bound. */
  readonly byBucket: number[] = new Array(LATENCY_BUCKETS.length + 1).fill(0);
  count = 0;
  seconds = 0;

  constructor(readonly labels: Labels) {}

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

/**
 * The labels of one route and upstream. On a migrating route they also name the flag and the side, so a
 * dashboard or an alert compares old and new per flag without knowing the routing policy.
 */
function trafficLabels(route: RoutePlan, upstream: string): Labels {
  const labels = { route: route.prefix, upstream };
  const migration = route.migration;
  if (!migration) return labels;
  return { ...labels, flag: migration.flag, side: upstream === migration.to ? 'new' : 'old' };
}

function trafficFamilies(traffic: Traffic[]): MetricFamily[] {
  const requests: Sample[] = [];
  const durations: Sample[] = [];
  const duration = 'gateway_request_duration_seconds';
  for (const { labels, byStatusClass } of traffic)
    byStatusClass.forEach((count, i) => {
      if (count > 0) requests.push({ labels: { ...labels, status_class: `${i + 1}xx` }, value: count });
    });
  for (const { labels, byBucket, count, seconds } of traffic) {
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((bound, i) => {
      cumulative += byBucket[i] ?? 0;
      durations.push({ name: `${duration}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
    });
    durations.push(
      { name: `${duration}_bucket`, labels: { ...labels, le: '+Inf' }, value: count },
      { name: `${duration}_sum`, labels, value: seconds },
      { name: `${duration}_count`, labels, value: count },
    );
  }
  return [
    {
      name: 'gateway_requests_total',
      help: 'Proxied requests by route prefix, upstream and status class',
      type: 'counter',
      samples: requests,
    },
    {
      name: duration,
      help: 'Latency of proxied requests as seen by the gateway',
      type: 'histogram',
      samples: durations,
    },
  ];
}

function decisionsFamily(decisions: Map<Decision, { flag: string; count: number }>): MetricFamily {
  // Routes sharing a flag share label sets: sum them.
  const byLabels = new Map<string, Sample>();
  for (const [{ upstream, reason }, { flag, count }] of decisions) {
    const key = `${flag}\n${upstream}\n${reason}`;
    const sample = byLabels.get(key);
    if (sample) sample.value += count;
    else byLabels.set(key, { labels: { flag, upstream, reason }, value: count });
  }
  return {
    name: 'gateway_routing_decisions_total',
    help: 'Requests on migrating routes by flag, chosen upstream and the reason for the choice',
    type: 'counter',
    samples: [...byLabels.values()],
  };
}

/**
 * The gateway's Prometheus metrics: per-request traffic and decisions counted by `record` and `decided`
 * in plain numbers, everything else (process metrics, flag values, fallbacks) through prom-client, all
 * in one Exposition that the other parts register with too (app.ts).
 */
export function createMetrics(flags: Pick<FlagStore, 'names' | 'get' | 'isConnected'>) {
  const exposition = new Exposition();
  const registry = exposition.registry;

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

  /** Route → upstream name → its traffic. */
  const traffic = new Map<RoutePlan, Map<string, Traffic>>();
  /** Routing decisions on migrating routes, counted per (frozen, per-route) decision object. */
  const decisions = new Map<Decision, { flag: string; count: number }>();
  exposition.register(() => [
    ...trafficFamilies([...traffic.values()].flatMap((byUpstream) => [...byUpstream.values()])),
    decisionsFamily(decisions),
  ]);

  return {
    exposition,
    /** Counts one proxied request; called once per request, so it allocates nothing after the first. */
    record(route: RoutePlan, upstream: string, statusCode: number, seconds: number): void {
      let byUpstream = traffic.get(route);
      if (!byUpstream) {
        byUpstream = new Map();
        traffic.set(route, byUpstream);
      }
      let counted = byUpstream.get(upstream);
      if (!counted) {
        counted = new Traffic(trafficLabels(route, upstream));
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
    fallback(route: RoutePlan, from: string, to: string): void {
      fallbacks.labels(route.prefix, route.migration?.flag ?? '', from, to).inc();
    },
    authFailure(status: 401 | 429): void {
      authFailures.labels(String(status)).inc();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
