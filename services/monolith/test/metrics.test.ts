import { describe, expect, it } from 'vitest';
import { call, createUser, useApp } from './helpers.js';

// The app is this file's own (a registry of its own), so every count below starts from zero.
const app = useApp();
const scrape = async () => (await call(app(), 'GET', '/metrics')).body.split('\n');

describe('GET /metrics', () => {
  it('counts requests by route template and status class, the ids of a query in one series', async () => {
    const [first, second] = [await createUser(app()), await createUser(app())];
    for (const id of [first.id, second.id, 2_000_000_000]) await call(app(), 'GET', `/api/users?id=${id}`);
    await call(app(), 'GET', `/api/users/${first.id}`);

    const lines = await scrape();
    expect(lines).toEqual(
      expect.arrayContaining([
        'monolith_requests_total{route="/api/users",method="POST",status_class="2xx"} 2',
        'monolith_requests_total{route="/api/users",method="GET",status_class="2xx"} 2',
        'monolith_requests_total{route="/api/users",method="GET",status_class="4xx"} 1',
        'monolith_requests_total{route="unmatched",method="GET",status_class="4xx"} 1',
        'monolith_request_duration_seconds_count{route="/api/users",method="GET"} 3',
        'monolith_request_duration_seconds_bucket{le="+Inf",route="/api/users",method="POST"} 2',
      ]),
    );
    // No label holds an id (a sample's value may contain the same digits by chance).
    const idInLabels = new RegExp(`\\{[^}]*\\b${first.id}\\b[^}]*\\}`);
    expect(lines.filter((line) => idInLabels.test(line))).toEqual([]);
    expect(lines.join('\n')).not.toContain('route="/metrics"');
  });

  it('shows the pool, all idle between requests, and counts a query the database refused', async () => {
    const user = await createUser(app());
    const taken = await call(app(), 'POST', '/api/users', {
      username: user.username,
      email: 'x@example.com',
    });
    expect(taken.statusCode).toBe(409);

    const lines = await scrape();
    // How many stay open is the pool's business (it drops a connection whose query failed, and idle ones).
    const pool = (state: string) =>
      lines.find((line) => line.startsWith(`monolith_db_pool_connections{state="${state}"} `))?.split(' ')[1];
    expect(pool('total')).toMatch(/^\d+$/);
    expect(pool('idle')).toBe(pool('total'));
    expect(pool('waiting')).toBe('0');
    expect(lines).toEqual(
      expect.arrayContaining([
        'monolith_db_query_errors_total{cause="rejected"} 1',
        'monolith_db_query_errors_total{cause="unavailable"} 0',
        'monolith_requests_total{route="/api/users",method="POST",status_class="4xx"} 1',
      ]),
    );
  });
});
