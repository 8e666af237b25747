import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { endpoints, run, runOk, tool } from './deploy/tools.js';

// The services' /metrics as Prometheus scrapes them from the running stack (scripts/stack up), read by
// Prometheus' own text parser (tools/validate: expfmt, plus cumulative histogram buckets). The gateway writes
// its request metrics itself rather than through prom-client, so this is where a format slip would show.
const gatewayUrl = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8000';
const eventsUrl = process.env.EVENTS_URL ?? 'http://127.0.0.1:8082';
const backendUrls = {
  monolith: process.env.MONOLITH_URL ?? `http://127.0.0.1:${endpoints.monolith.port}`,
  movies: process.env.MOVIES_URL ?? `http://127.0.0.1:${endpoints.movies.port}`,
};
const dir = mkdtempSync(join(tmpdir(), 'cinemaabyss-metrics-'));

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const file = join(dir, `${new URL(url).port}.txt`);
  writeFileSync(file, await response.text());
  return file;
}

describe('/metrics of the running stack', () => {
  beforeAll(async () => {
    // Traffic on two routes and two status classes, so the gateway's own series exist.
    for (const path of ['/api/movies', '/api/movies?id=1', '/api/users', '/api/users?id=999999']) {
      await (await fetch(`${gatewayUrl}${path}`)).arrayBuffer();
    }
    // The movies service directly too: the flag may send no movie request its way.
    await (await fetch(`${backendUrls.movies}/api/movies?id=1`)).arrayBuffer();
    await (await fetch(`${eventsUrl}/api/events/health`)).arrayBuffer();
  });

  it('gateway: parses, with request counters and a consistent latency histogram', async () => {
    const output = runOk(tool('cinemaabyss-validate'), ['metrics', await scrape(`${gatewayUrl}/metrics`)]);
    expect(output).toMatch(/gateway_request_duration_seconds \(HISTOGRAM, \d+ series\) ok/);
    expect(output).toMatch(/gateway_requests_total \(COUNTER, \d+ series\) ok/);
    expect(output).toMatch(/gateway_flag_percent \(GAUGE, 1 series\) ok/);
  });

  it('events: parses', async () => {
    const output = runOk(tool('cinemaabyss-validate'), ['metrics', await scrape(`${eventsUrl}/metrics`)]);
    expect(output).toMatch(/process_cpu_seconds_total \(COUNTER, 1 series\) ok/);
    expect(output).toMatch(/events_requests_total \(COUNTER, \d+ series\) ok/);
  });

  it.each(['monolith', 'movies'] as const)(
    '%s: parses, with requests, latency and the database pool',
    async (name) => {
      const output = runOk(tool('cinemaabyss-validate'), [
        'metrics',
        await scrape(`${backendUrls[name]}/metrics`),
      ]);
      expect(output).toMatch(new RegExp(`${name}_request_duration_seconds \\(HISTOGRAM, \\d+ series\\) ok`));
      expect(output).toMatch(new RegExp(`${name}_requests_total \\(COUNTER, \\d+ series\\) ok`));
      expect(output).toContain(`${name}_db_pool_connections (GAUGE, 3 series) ok`);
      expect(output).toContain(`${name}_db_query_errors_total (COUNTER, 3 series) ok`);
    },
  );

  it('refuses a histogram whose buckets shrink or lack +Inf, so the checks above can fail', () => {
    const histogram = (buckets: string[]) => [
      '# TYPE latency_seconds histogram',
      ...buckets,
      'latency_seconds_sum 1.5',
      'latency_seconds_count 5',
      '',
    ];
    for (const [buckets, problem] of [
      [
        [
          'latency_seconds_bucket{le="0.1"} 5',
          'latency_seconds_bucket{le="1"} 3',
          'latency_seconds_bucket{le="+Inf"} 5',
        ],
        'bucket le=1 holds 3, fewer than the bucket below it (5)',
      ],
      [
        ['latency_seconds_bucket{le="0.1"} 2', 'latency_seconds_bucket{le="1"} 4'],
        'the last bucket is not le="+Inf"',
      ],
    ] as const) {
      const file = join(dir, 'broken.txt');
      writeFileSync(file, histogram([...buckets]).join('\n'));
      const result = run(tool('cinemaabyss-validate'), ['metrics', file]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(problem);
    }
  });
});
