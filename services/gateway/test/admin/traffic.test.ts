import { afterAll, describe, expect, it } from 'vitest';
import { TRAFFIC } from '../../src/admin/traffic-routes.js';
import { buildApp } from '../../src/app.js';
import { ADMIN_TOKEN, policyFor, startUpstream, testConfig, uniqueFlag, waitFor } from '../helpers.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Traffic {
  stepMs: number;
  samples: Array<{ at: string; seconds: number; old: { requests: number }; new: { requests: number } }>;
  recent: {
    seconds: number;
    old: { requests: number; errors: number; p99Ms: number };
    new: { requests: number; errors: number; errorRate: number; p99Ms: number };
  };
}

describe('GET /admin/flags/:name/traffic (real gateway, Redis and upstreams)', () => {
  it("shows each side's requests, errors and p99 per sample and over the last minute", async () => {
    const [old, neu] = await Promise.all([startUpstream('monolith'), startUpstream('movies')]);
    cleanups.push(old.close, neu.close);
    const flag = uniqueFlag();
    const app = await buildApp(testConfig({ CLUSTER_COUNTERS_FLUSH_MS: '20' }), {
      policy: policyFor({ monolith: old.url, movies: neu.url, events: old.url }, flag, {
        enabled: true,
        percent: 50,
      }),
    });
    cleanups.push(() => app.close());
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    await waitFor(
      async () => ((await (await fetch(`${url}/ready`)).json()) as { status: string }).status === 'ready',
      5_000,
      'Redis',
    );

    // Half the users to each side (the rollout counts only the percent's split); 10 of 40 requests fail.
    for (let i = 0; i < 40; i++) {
      const path = i % 4 === 0 ? '/api/movies/busy' : '/api/movies';
      await (await fetch(`${url}${path}`, { headers: { 'x-user-id': `user-${i}` } })).arrayBuffer();
    }

    const read = async () =>
      (await app.inject({ url: `/admin/flags/${flag}/traffic`, headers: auth })).json() as Traffic;
    const total = (t: Traffic) => t.recent.old.requests + t.recent.new.requests;
    await waitFor(async () => total(await read()) === 40, 5_000, 'the counts flushed');
    const traffic = await read();
    expect(traffic.stepMs).toBe(TRAFFIC.stepMs);
    expect(traffic.samples).toHaveLength(TRAFFIC.steps);
    const sum = (side: 'old' | 'new') => traffic.samples.reduce((n, s) => n + s[side].requests, 0);
    const { recent } = traffic;
    expect([sum('old'), sum('new')]).toEqual([recent.old.requests, recent.new.requests]);
    // 40 users at 50 %: both sides see some (all on one side: odds 2^-39).
    expect(recent.old.requests).toBeGreaterThan(0);
    expect(recent.new.requests).toBeGreaterThan(0);
    expect(recent.old.errors + recent.new.errors).toBe(10);
    expect(recent.new.errorRate).toBe(recent.new.errors / recent.new.requests);
    expect(recent.old.p99Ms).toBeGreaterThan(0);
    expect(recent.seconds).toBeGreaterThan(50);
    expect(recent.seconds).toBeLessThanOrEqual(60);
    // Samples are consecutive and end with the one in progress.
    const last = traffic.samples.at(-1)!;
    expect(Date.parse(last.at) - Date.parse(traffic.samples[0]!.at)).toBe(
      (TRAFFIC.steps - 1) * TRAFFIC.stepMs,
    );
    expect(last.seconds).toBeLessThanOrEqual(TRAFFIC.stepMs / 1000);
    expect(traffic.samples[0]!.seconds).toBe(TRAFFIC.stepMs / 1000);
  });

  it('needs the token and a known flag', async () => {
    const app = await buildApp(testConfig(), {
      policy: policyFor(
        { monolith: 'http://127.0.0.1:1', movies: 'http://127.0.0.1:1', events: 'http://127.0.0.1:1' },
        uniqueFlag(),
      ),
    });
    cleanups.push(() => app.close());
    expect((await app.inject({ url: '/admin/flags/movies/traffic' })).statusCode).toBe(401);
    const unknown = await app.inject({ url: '/admin/flags/nope/traffic', headers: auth });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatch(/^unknown flag "nope"/);
  });
});
