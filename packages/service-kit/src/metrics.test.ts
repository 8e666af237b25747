import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorHandling, HttpError } from './errors.js';
import { LATENCY_BUCKETS, serviceMetrics } from './metrics.js';

async function app() {
  const instance = Fastify();
  await instance.register(errorHandling);
  serviceMetrics(instance, 'demo');
  instance.get('/items/:id', async (request) => request.params);
  instance.get('/broken', async () => {
    throw new HttpError(503, 'database unavailable');
  });
  return instance;
}

const scrape = async (instance: Awaited<ReturnType<typeof app>>) => {
  const response = await instance.inject('/metrics');
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.body.split('\n');
};

describe('serviceMetrics', () => {
  it('counts requests by route template, never by raw URL, with their status class', async () => {
    const instance = await app();
    for (const url of ['/items/1', '/items/2', '/broken', '/no/such/path?x=1']) await instance.inject(url);
    await instance.inject({ method: 'POST', url: '/items/3' });
    const lines = await scrape(instance);
    expect(lines).toEqual(
      expect.arrayContaining([
        'demo_requests_total{route="/items/:id",method="GET",status_class="2xx"} 2',
        'demo_requests_total{route="/broken",method="GET",status_class="5xx"} 1',
        // No route matched GET /no/such/path nor POST /items/3: one series for all of them.
        'demo_requests_total{route="unmatched",method="GET",status_class="4xx"} 1',
        'demo_requests_total{route="unmatched",method="POST",status_class="4xx"} 1',
      ]),
    );
    expect(lines.filter((line) => line.startsWith('demo_requests_total{'))).toHaveLength(4);
    expect(lines.join('\n')).not.toMatch(/\/items\/\d|no\/such/);
  });

  it('keeps a latency histogram per route with the shared buckets, and never counts a scrape', async () => {
    const instance = await app();
    await instance.inject('/items/1');
    await scrape(instance);
    const lines = await scrape(instance);
    const bounds = lines
      .filter(
        (line) => line.startsWith('demo_request_duration_seconds_bucket{') && line.includes('/items/:id'),
      )
      .map((line) => /le="([^"]+)"/.exec(line)?.[1]);
    expect(bounds).toEqual([...LATENCY_BUCKETS.map(String), '+Inf']);
    expect(lines).toContain('demo_request_duration_seconds_count{route="/items/:id",method="GET"} 1');
    expect(lines.join('\n')).not.toContain('route="/metrics"');
    expect(lines).toContain('# TYPE process_cpu_seconds_total counter');
  });
});
