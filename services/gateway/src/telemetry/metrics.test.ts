import { describe, expect, it } from 'vitest';
import { type LiveFlag, live } from '../flags/record.js';
import { planRoute } from '../routing/decide.js';
import { policySchema } from '../routing/policy.js';
import { createMetrics } from './metrics.js';

const flags = {
  names: () => ['movies'],
  get: (): LiveFlag => live({ enabled: true, percent: 20, allow: [], deny: [] }, 'redis'),
  isConnected: () => true,
};

// The routes as the proxy plans them: /api/movies migrating with the flag movies, and /api.
const policy = policySchema.parse({
  upstreams: { monolith: 'http://127.0.0.1:9', movies: 'http://127.0.0.1:9' },
  routes: [
    { prefix: '/api/movies', upstream: 'monolith', migrate: { flag: 'movies', to: 'movies' } },
    { prefix: '/api', upstream: 'monolith' },
  ],
  flags: { movies: {} },
});
const [moviesRoute, apiRoute] = policy.routes.map((route) => planRoute(policy, route)) as [
  ReturnType<typeof planRoute>,
  ReturnType<typeof planRoute>,
];

const samples = (text: string, name: string) =>
  text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));

describe('metrics', () => {
  it('renders request counts by status class and a cumulative latency histogram', async () => {
    const metrics = createMetrics(flags);
    metrics.record(moviesRoute, 'movies', 200, 0.0005);
    metrics.record(moviesRoute, 'movies', 503, 0.3);
    metrics.record(moviesRoute, 'movies', 204, 20);
    metrics.record(moviesRoute, 'monolith', 404, 0.001);
    metrics.record(apiRoute, 'monolith', 200, 0.001);
    const text = await metrics.exposition.render();

    // A migrating route's series name its flag and side; the others only route and upstream.
    const movies = 'route="/api/movies",upstream="movies",flag="movies",side="new"';
    const monolith = 'route="/api/movies",upstream="monolith",flag="movies",side="old"';
    expect(samples(text, 'gateway_requests_total')).toEqual([
      `gateway_requests_total{${movies},status_class="2xx"} 2`,
      `gateway_requests_total{${movies},status_class="5xx"} 1`,
      `gateway_requests_total{${monolith},status_class="4xx"} 1`,
      'gateway_requests_total{route="/api",upstream="monolith",status_class="2xx"} 1',
    ]);
    const buckets = samples(text, 'gateway_request_duration_seconds_bucket');
    expect(buckets).toContain(`gateway_request_duration_seconds_bucket{${movies},le="0.001"} 1`);
    expect(buckets).toContain(`gateway_request_duration_seconds_bucket{${movies},le="0.25"} 1`);
    expect(buckets).toContain(`gateway_request_duration_seconds_bucket{${movies},le="0.5"} 2`);
    expect(buckets).toContain(`gateway_request_duration_seconds_bucket{${movies},le="10"} 2`);
    expect(buckets).toContain(`gateway_request_duration_seconds_bucket{${movies},le="+Inf"} 3`);
    // A value equal to a bound counts in that bucket (le is "less than or equal").
    expect(buckets).toContain(`gateway_request_duration_seconds_bucket{${monolith},le="0.001"} 1`);
    expect(samples(text, 'gateway_request_duration_seconds_count')).toEqual([
      `gateway_request_duration_seconds_count{${movies}} 3`,
      `gateway_request_duration_seconds_count{${monolith}} 1`,
      'gateway_request_duration_seconds_count{route="/api",upstream="monolith"} 1',
    ]);
    const [sum] = samples(text, 'gateway_request_duration_seconds_sum');
    expect(Number(sum?.split(' ')[1])).toBeCloseTo(20.3005, 6);
    // One HELP and TYPE per family, the prom-client metrics alongside.
    expect(text.match(/^# TYPE gateway_request_duration_seconds histogram$/gm)).toHaveLength(1);
    expect(text.match(/^# TYPE gateway_requests_total counter$/gm)).toHaveLength(1);
    expect(text).toContain('gateway_flag_percent{flag="movies"} 20');
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('renders every bucket cumulatively, ending at the count', async () => {
    const metrics = createMetrics(flags);
    for (const seconds of [0.0001, 0.002, 0.004, 0.02, 0.2, 3, 7, 99])
      metrics.record(apiRoute, 'monolith', 200, seconds);
    const counts = samples(await metrics.exposition.render(), 'gateway_request_duration_seconds_bucket').map(
      (line) => Number(line.split(' ')[1]),
    );
    expect(counts).toEqual([1, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 6, 7, 8]);
  });
});
