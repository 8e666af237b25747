import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { testConfig } from './helpers.js';

const config = testConfig();
// The same database seen through a search_path without the movie tables: every movie query fails in
// PostgreSQL itself (42P01), while the readiness probe's SELECT 1 still works. Nothing shared is touched.
const withoutTables = new URL(config.DATABASE_URL);
withoutTables.searchParams.set('options', `-c search_path=no_movies_${randomUUID().slice(0, 8)}`);
let app: FastifyInstance;
let broken: FastifyInstance;

beforeAll(async () => {
  app = await buildApp(config);
  broken = await buildApp({ ...config, DATABASE_URL: withoutTables.href });
  await Promise.all([app.ready(), broken.ready()]);
});
afterAll(() => Promise.all([app.close(), broken.close()]));

const scrape = async (instance: FastifyInstance) => (await instance.inject('/metrics')).body.split('\n');

describe('GET /metrics of the movies service', () => {
  it('counts requests by route template under the movies_ prefix, and shows the pool', async () => {
    for (const url of ['/api/movies?id=1', '/api/movies?id=2', '/api/movies/1']) await app.inject(url);
    const lines = await scrape(app);
    const byStatus = lines.filter((line) => line.startsWith('movies_requests_total{route="/api/movies",'));
    expect(byStatus.map((line) => Number(line.split(' ')[1])).reduce((a, b) => a + b, 0)).toBe(2);
    expect(lines).toEqual(
      expect.arrayContaining([
        'movies_requests_total{route="unmatched",method="GET",status_class="4xx"} 1',
        'movies_request_duration_seconds_count{route="/api/movies",method="GET"} 2',
        'movies_db_pool_connections{state="waiting"} 0',
        'movies_db_query_errors_total{cause="rejected"} 0',
      ]),
    );
    expect(lines.some((line) => line.startsWith('movies_db_pool_connections{state="total"} '))).toBe(true);
  });

  it('counts the queries PostgreSQL refused, and answers them with a 500', async () => {
    expect((await broken.inject('/api/movies')).statusCode).toBe(500);
    expect((await broken.inject('/api/movies?id=1')).statusCode).toBe(500);
    expect(await scrape(broken)).toEqual(
      expect.arrayContaining([
        'movies_db_query_errors_total{cause="rejected"} 2',
        'movies_requests_total{route="/api/movies",method="GET",status_class="5xx"} 2',
      ]),
    );
  });
});
