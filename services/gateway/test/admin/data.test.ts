import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { dataStatusKey, verifyChannel } from '../../src/data/status.js';
import {
  bearer,
  dataStatusDocument,
  operatorsFile,
  policyFor,
  REDIS_URL,
  refusedUrl,
  testConfig,
  uniqueFlag,
  waitFor,
} from '../helpers.js';

const nowhere = 'http://127.0.0.1:9';

describe('GET /admin/data/:domain and POST …/verify (real gateway and Redis)', () => {
  const redis = new Redis(REDIS_URL);
  // Domains of this test only: the real `cinemaabyss:data:movies` belongs to a running movies-sync.
  const domain = uniqueFlag();
  const lines: Record<string, unknown>[] = [];
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await buildApp(
      testConfig({ ADMIN_TOKENS_FILE: operatorsFile({ alice: 'operator', dashboards: 'viewer' }) }),
      {
        policy: policyFor({ monolith: nowhere, movies: nowhere, events: nowhere }, uniqueFlag()),
        logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line)) } },
      },
    );
    await waitFor(async () => (await app.inject('/ready')).json().status === 'ready', 5_000, 'Redis');
  });
  afterAll(async () => {
    await app.close();
    await redis.del(dataStatusKey(domain));
    redis.disconnect();
  });

  it('serves the document the sync process wrote, to a viewer too, and nothing it does not declare', async () => {
    const document = dataStatusDocument(domain);
    // A field the contract does not list (a URL with a password, say) is never served.
    const written = { ...document, sourceUrl: 'postgres://cdc:secret@db/cinemaabyss' };
    await redis.set(dataStatusKey(domain), JSON.stringify(written), 'PX', 30_000);
    for (const who of ['dashboards', 'alice']) {
      const res = await app.inject({ url: `/admin/data/${domain}`, headers: bearer(who) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual(document);
      expect(res.body).not.toContain('secret');
    }
  });

  it('answers 404 naming a domain without a document, 400 for a bad name, 502 for a malformed one', async () => {
    const missing = uniqueFlag();
    const none = await app.inject({ url: `/admin/data/${missing}`, headers: bearer('dashboards') });
    expect(none.statusCode).toBe(404);
    expect(none.json().error).toMatch(new RegExp(`^no data status for domain "${missing}"`));

    const bad = await app.inject({ url: '/admin/data/Movies!', headers: bearer('dashboards') });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/^params\.domain: must be 1 to 63 lower-case letters/);

    const broken = uniqueFlag();
    try {
      await redis.set(
        dataStatusKey(broken),
        JSON.stringify({ ...dataStatusDocument(broken), lagMs: 'soon' }),
      );
      const res = await app.inject({ url: `/admin/data/${broken}`, headers: bearer('dashboards') });
      expect(res.statusCode).toBe(502);
      expect(res.json().error).toMatch(`the status document ${dataStatusKey(broken)} is malformed: lagMs:`);
      await redis.set(dataStatusKey(broken), '{not json');
      const garbled = await app.inject({ url: `/admin/data/${broken}`, headers: bearer('dashboards') });
      expect(garbled.statusCode).toBe(502);
      expect(garbled.json().error).toMatch(/is not valid JSON$/);
    } finally {
      await redis.del(dataStatusKey(broken));
    }
  });

  it('publishes a verify request from an operator (202, with its receivers); a viewer gets 403', async () => {
    const subscriber = new Redis(REDIS_URL);
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(verifyChannel(domain));
    try {
      const refused = await app.inject({
        method: 'POST',
        url: `/admin/data/${domain}/verify`,
        headers: bearer('dashboards'),
      });
      expect(refused.statusCode).toBe(403);

      const res = await app.inject({
        method: 'POST',
        url: `/admin/data/${domain}/verify`,
        headers: { ...bearer('alice'), 'x-operator': 'mallory' },
      });
      expect(res.statusCode, res.body).toBe(202);
      const answer = res.json();
      expect(answer).toMatchObject({ domain, requestedBy: 'alice (127.0.0.1)', receivers: 1 });
      expect(Date.parse(answer.requestedAt)).toBeGreaterThan(Date.now() - 60_000);
      await waitFor(() => messages.length === 1, 5_000, 'the request on the channel');
      expect(JSON.parse(messages[0]!)).toEqual({
        requestedBy: 'alice (127.0.0.1)',
        requestedAt: answer.requestedAt,
        by: 'alice (127.0.0.1)',
      });
      expect(lines.find((line) => line.msg === 'parity pass requested through the admin API')).toMatchObject({
        domain,
        receivers: 1,
      });
    } finally {
      // QUIT waits for Redis to drop the subscription, so the next PUBLISH finds no one.
      await subscriber.quit();
    }
    // Nobody listening: still 202 (the request is valid), and the answer says no process heard it.
    const unheard = await app.inject({
      method: 'POST',
      url: `/admin/data/${domain}/verify`,
      headers: bearer('alice'),
    });
    expect(unheard.statusCode).toBe(202);
    expect(unheard.json().receivers).toBe(0);
  });

  it('answers 503 naming the data store while Redis is unreachable', async () => {
    const cut = await buildApp(testConfig({ REDIS_URL: (await refusedUrl()).replace(/^http/, 'redis') }), {
      policy: policyFor({ monolith: nowhere, movies: nowhere, events: nowhere }, uniqueFlag()),
    });
    try {
      const auth = { authorization: `Bearer ${testConfig().ADMIN_TOKEN}` };
      const read = await cut.inject({ url: `/admin/data/${domain}`, headers: auth });
      expect(read.statusCode).toBe(503);
      expect(read.json().error).toMatch(
        /^data store \(Redis\) is unreachable; the data status cannot be read/,
      );
      const verify = await cut.inject({ method: 'POST', url: `/admin/data/${domain}/verify`, headers: auth });
      expect(verify.statusCode).toBe(503);
      expect(verify.json().error).toMatch(/^data store \(Redis\) is unreachable; no pass was requested/);
    } finally {
      await cut.close();
    }
  });
});
