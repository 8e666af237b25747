import { ADMIN_API, type AdminRoute } from '@cinemaabyss/admin-contract';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { dataStatusKey } from '../../src/data/status.js';
import {
  ADMIN_TOKEN,
  dataStatusDocument,
  policyFor,
  REDIS_URL,
  startUpstream,
  testConfig,
  uniqueFlag,
  waitFor,
} from '../helpers.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('the admin contract (real gateway and Redis)', () => {
  it('describes every answer of every admin route exactly: nothing missing, nothing more', async () => {
    const upstream = await startUpstream('monolith');
    cleanups.push(upstream.close);
    const flag = uniqueFlag();
    const app = await buildApp(testConfig(), {
      policy: policyFor({ monolith: upstream.url, movies: upstream.url, events: upstream.url }, flag),
    });
    cleanups.push(() => app.close());
    await waitFor(
      async () => (await app.inject({ url: '/ready' })).json().status === 'ready',
      5_000,
      'Redis',
    );

    // A data domain of this test's own, its document written as the sync process would.
    const domain = uniqueFlag();
    const redis = new Redis(REDIS_URL);
    await redis.set(dataStatusKey(domain), JSON.stringify(dataStatusDocument(domain)), 'PX', 60_000);
    cleanups.push(async () => {
      await redis.del(dataStatusKey(domain));
      redis.disconnect();
    });

    const seen = new Set<AdminRoute>();
    // Calls the route and checks its answer against the contract: the schema's reading of the answer
    // must be the answer itself (a field the schema does not know would be dropped from it).
    const call = async (route: AdminRoute, body?: object, status = 200) => {
      const [method, pattern] = route.split(' ') as [string, string];
      const url = pattern.replace(':name', flag).replace(':domain', domain);
      const answer = await app.inject({
        method: method as 'GET',
        url,
        headers: auth,
        ...(body && { payload: body }),
      });
      expect(answer.statusCode, `${route}: ${answer.body}`).toBe(status);
      expect(ADMIN_API[route].answer.parse(answer.json()), route).toEqual(answer.json());
      seen.add(route);
    };

    await call('GET /admin/me');
    await call('GET /admin/flags');
    await call('GET /admin/flags/:name');
    await call('PUT /admin/flags/:name', { percent: 10, allow: ['ann'], deny: ['bob'] });
    await call('PUT /admin/flags/:name/shadow', { percent: 5, ignore: ['$.served_at'] });
    await call('POST /admin/flags/:name/shadow/reset');
    await call('GET /admin/flags/:name/shadow');
    await call('GET /admin/flags/:name/history');
    await call('GET /admin/flags/export');
    await call('PUT /admin/flags/import', { flags: { [flag]: { enabled: true, percent: 20 } } });
    await call('POST /admin/flags/:name/rollout', { steps: [50, 100], maxMismatchRate: 0.1 }, 201);
    await call('GET /admin/flags/:name/rollout');
    await call('POST /admin/flags/:name/rollout/pause');
    await call('POST /admin/flags/:name/rollout/resume');
    await call('POST /admin/flags/:name/rollout/promote');
    await call('POST /admin/flags/:name/rollout/abort');
    await call('GET /admin/flags/:name/traffic');
    await call('GET /admin/data/:domain');
    await call('POST /admin/data/:domain/verify', undefined, 202);
    expect([...seen].sort()).toEqual(Object.keys(ADMIN_API).sort());
  });
});
