import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { RolloutView } from '../../src/rollout/controls.js';
import { DedicatedRedis } from '../dedicated-redis.js';
import {
  ADMIN_TOKEN,
  bearer,
  operatorsFile,
  policyFor,
  REDIS_URL,
  testConfig,
  uniqueFlag,
} from '../helpers.js';
import { eventually } from './replicas.js';

// Issue 14's acceptance list, end to end: two gateways built by buildApp on free ports, sharing a Redis,
// in front of two upstreams whose error rate and latency each test sets, under a loop of requests.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real upstream answering each request after `latencyMs`, with a 500 for the share `errorRate`. */
async function controllable(name: string) {
  const behaviour = { errorRate: 0, latencyMs: 0 };
  const server: Server = createServer((_req, res) => {
    const status = Math.random() < behaviour.errorRate ? 500 : 200;
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(`{"upstream":"${name}"}`);
    }, behaviour.latencyMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, behaviour };
}

// Short windows: counts flushed every 15 ms, judged 50 ms after a window closes, a 240 ms lease (so each
// replica looks every 80 ms), 50 ms counting slots.
const TIMING = {
  CLUSTER_COUNTERS_FLUSH_MS: '15',
  ROLLOUT_SETTLE_MS: '50',
  ROLLOUT_LEASE_MS: '240',
  ROLLOUT_RESOLUTION_MS: '50',
};
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const OPERATORS = { ADMIN_TOKENS_FILE: operatorsFile({ alice: 'operator', bob: 'operator' }) };

/** Two gateway replicas on one Redis and one flag, and the traffic through them. */
async function cluster(redisUrl = REDIS_URL) {
  const flag = uniqueFlag();
  const [old, neu] = await Promise.all([controllable('monolith'), controllable('movies')]);
  const policy = policyFor({ monolith: old.url, movies: neu.url, events: old.url }, flag);
  const config = testConfig({ ...TIMING, ...OPERATORS, REDIS_URL: redisUrl });
  const replicas: Array<{ app: FastifyInstance; url: string }> = [];
  for (let i = 0; i < 2; i++) {
    const app = await buildApp(config, { policy });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    replicas.push({ app, url });
  }
  const live = [...replicas];
  cleanups.push(() => Promise.all(live.map(({ app }) => app.close())).then(() => {}));
  await eventually(
    async () => (await Promise.all(live.map((r) => readiness(r.url)))).every((s) => s === 'ready'),
    5_000,
    'both gateways to reach Redis',
  );

  const admin = async (method: string, path: string, body?: object, via = live[0]!) => {
    const res = await fetch(`${via.url}/admin/flags/${flag}${path}`, {
      method,
      headers: { ...bearer('alice'), ...(body && { 'content-type': 'application/json' }) },
      ...(body && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as RolloutView & { error: string } };
  };
  const view = async () => (await admin('GET', '/rollout')).body;
  /** Percents the flag's history shows, oldest first. */
  const percents = async () => {
    const { body } = (await admin('GET', '/history')) as unknown as {
      body: { history: Array<{ new: { percent: number } }> };
    };
    return body.history.map((entry) => entry.new.percent).reverse();
  };
  /** Waits for the rollout to reach `check`; a timeout names the decisions taken so far. */
  const until = async (check: (view: RolloutView) => boolean, timeoutMs: number, what: string) => {
    try {
      await eventually(async () => check(await view()), timeoutMs, what);
    } catch (error) {
      const reasons = (await view()).decisions.map((d) => `${d.outcome}@${d.step}: ${d.reason}`);
      throw new Error(`${(error as Error).message}; decisions, newest first:\n${reasons.join('\n')}`);
    }
  };
  /**
   * Takes a replica out of the traffic and closes it as a dying gateway would: its clients' connections
   * are cut (a clean close would wait out their keep-alive), its onClose hooks run.
   */
  const kill = async (replica: (typeof replicas)[number]) => {
    live.splice(live.indexOf(replica), 1);
    const closed = replica.app.close();
    replica.app.server.closeAllConnections();
    await closed;
  };
  return { flag, old, neu, replicas, live, admin, view, until, percents, kill };
}

async function readiness(url: string): Promise<string> {
  const res = await fetch(`${url}/ready`).catch(() => undefined);
  return res ? ((await res.json()) as { status: string }).status : 'down';
}

/**
 * GETs with a random user id through the live replicas, `inFlight` at a time, until stopped (and at most
 * 200 000 in all, so a forgotten loop still ends).
 */
function traffic(live: Array<{ url: string }>, inFlight = 16) {
  let stopped = false;
  let sent = 0;
  const worker = async () => {
    while (!stopped && sent < 200_000) {
      const replica = live[sent++ % live.length];
      if (!replica) return;
      const userId = Math.random().toString(36).slice(2);
      await fetch(`${replica.url}/api/movies`, { headers: { 'x-user-id': userId } })
        .then((res) => res.arrayBuffer())
        .catch(() => {});
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  cleanups.push(async () => {
    stopped = true;
    await Promise.all(workers);
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

const outcomes = (view: RolloutView) => view.decisions.map((d) => `${d.outcome}@${d.step}`).reverse();
// Both gateways, the upstreams and the traffic share this process's event loop on a loaded machine, so
// a healthy p99 can reach 200 ms: the tests that are not about latency allow any up to 1 s.
const plan = (body: object) => ({ minRequests: 10, latencyFloorMs: 1_000, ...body });

describe('progressive rollout through two gateways (real Redis and upstreams)', { timeout: 20_000 }, () => {
  it('1: takes a healthy new side to succeeded and 100 % within steps x interval + one interval', async () => {
    const c = await cluster();
    traffic(c.live);
    // Each step's window opens when its percent is set, after the settle time and the driver's next look
    // (about 130 ms here, several hundred on a loaded machine): a long interval leaves room for that.
    const intervalMs = 1_500;
    const start = await c.admin('POST', '/rollout', plan({ steps: [10, 50, 100], intervalMs }));
    expect(start.status).toBe(201);
    expect(start.body).toMatchObject({ state: 'running', step: 0, percent: 10 });
    // The deadline on the rollout's own clock, from its start to its last decision; the wait allows for
    // the test's admin calls, which a loaded machine can slow by a few hundred ms.
    await c.until((v) => v.state === 'succeeded', 4 * intervalMs + 2_000, 'succeeded');
    const view = await c.view();
    expect(Date.parse(view.decisions[0]!.at) - Date.parse(view.startedAt)).toBeLessThan(4 * intervalMs);
    expect(view).toMatchObject({ state: 'succeeded', step: 2, percent: 100 });
    expect(outcomes(view)).toEqual(['start@0', 'advance@1', 'advance@2', 'advance@2']);
    expect(view.decisions[0]!.reason).toMatch(/^healthy: new 5xx 0 % \(n=\d[\d ]*\) vs old 0 % \(n=\d/);
    expect(await c.percents()).toEqual([10, 50, 100]);
    const history = await c.admin('GET', '/history');
    expect(JSON.stringify(history.body)).toContain('rollout started by alice (127.0.0.1)');

    // Both replicas show the final state once they have looked again; exactly three advances in all.
    const scrape = () => Promise.all(c.live.map(async (r) => (await fetch(`${r.url}/metrics`)).text()));
    const succeeded = `gateway_rollout_state{flag="${c.flag}",state="succeeded"} 1`;
    await eventually(
      async () => (await scrape()).every((text) => text.includes(succeeded)),
      2_000,
      'metrics',
    );
    const metrics = await scrape();
    for (const text of metrics) expect(text).toContain(`gateway_rollout_step{flag="${c.flag}"} 2`);
    const advances = metrics.map((text) =>
      Number(
        text.match(new RegExp(`decisions_total\\{flag="${c.flag}",outcome="advance"\\} (\\d+)`))?.[1] ?? 0,
      ),
    );
    expect(advances[0]! + advances[1]!).toBe(3);
  });

  it('2: rolls back to 0 % within one interval after the first window with 20 % 500s at the second step', async () => {
    const c = await cluster();
    traffic(c.live);
    const intervalMs = 600;
    await c.admin('POST', '/rollout', plan({ steps: [10, 50, 100], intervalMs }));
    await c.until((v) => v.step === 1, 3 * intervalMs, 'the second step');
    c.neu.behaviour.errorRate = 0.2;
    const { nextDecisionAt } = await c.view();
    // Judged once the window has settled (50 ms) and a replica has looked (every 80 ms): one interval is ample.
    await c.until(
      (v) => v.state === 'rolled-back',
      Date.parse(nextDecisionAt) - Date.now() + intervalMs,
      'rolled back',
    );
    const view = await c.view();
    expect(view).toMatchObject({ state: 'rolled-back', step: 1, percent: 0 });
    expect(view.decisions[0]).toMatchObject({ outcome: 'rollback', step: 1, percent: 0 });
    expect(view.decisions[0]!.reason).toMatch(
      /^new 5xx \d+(\.\d)? % \(n=\d[\d ]*\) vs old 0 % \(n=\d[\d ]*\): increase \d+(\.\d)? pp > 1 pp$/,
    );
    expect(view.decisions[0]!.numbers!.new.requests).toBeGreaterThanOrEqual(10);
    expect(await c.percents()).toEqual([10, 50, 0]);
  });

  it('3: rolls back a new side 300 ms slower, naming both p99s', async () => {
    const c = await cluster();
    c.neu.behaviour.latencyMs = 300;
    // Each slow answer holds one of the 16 requests in flight for 300 ms: a longer window, so the new
    // side still sees enough (more in flight would push the old side's p99 towards 250 / 1.5 ms).
    traffic(c.live);
    await c.admin('POST', '/rollout', plan({ steps: [10, 50, 100], intervalMs: 1_000, latencyFloorMs: 250 }));
    await c.until((v) => v.state === 'rolled-back', 4_000, 'rolled back');
    const view = await c.view();
    // A first window may hold: a slow answer is counted when it completes.
    expect(outcomes(view).filter((o) => o !== 'hold@0')).toEqual(['start@0', 'rollback@0']);
    expect(view.decisions[0]!.reason).toMatch(
      /^p99 3\d\d ms vs \d+ ms: new above 250 ms = max\(250 ms, 1.5 x old\)$/,
    );
    expect(await c.percents()).toEqual([10, 0]);
  });

  it('4: holds without traffic and never advances', async () => {
    const c = await cluster();
    await c.admin('POST', '/rollout', plan({ steps: [10, 100], intervalMs: 150 }));
    const holds = async () => (await c.view()).decisions.filter((d) => d.outcome === 'hold');
    await eventually(async () => (await holds()).length >= 4, 3_000, 'four holds');
    expect((await holds()).at(-1)!.reason).toBe(
      'too little traffic: new n=0, old n=0 < 10 needed on each side',
    );
    const view = await c.view();
    expect(view).toMatchObject({ state: 'running', step: 0, percent: 10 });
    expect(outcomes(view).every((o) => o === 'start@0' || o === 'hold@0')).toBe(true);
    expect(await c.percents()).toEqual([10]);
  });

  it('5: rolls back at the first step when shadow mismatches exceed maxMismatchRate', async () => {
    const c = await cluster();
    // The two upstreams answer with different bodies ({"upstream":"monolith"} and {"upstream":"movies"}),
    // so every shadowed read mismatches at $.upstream; errors and latency stay healthy.
    expect((await c.admin('PUT', '/shadow', { percent: 100 })).status).toBe(200);
    traffic(c.live);
    const start = await c.admin(
      'POST',
      '/rollout',
      plan({ steps: [10, 50, 100], intervalMs: 800, maxMismatchRate: 0.01 }),
    );
    expect(start.status).toBe(201);
    await c.until((v) => v.state === 'rolled-back', 4_000, 'rolled back');
    const view = await c.view();
    expect(view).toMatchObject({ state: 'rolled-back', step: 0, percent: 0 });
    expect(view.decisions[0]!.reason).toMatch(/mismatch 100 % \(n=\d[\d ]*\) > 1 %/);
    // The history's first entry is the shadow setting (the flag still at 0 %).
    expect(await c.percents()).toEqual([0, 10, 0]);
  });

  it('6: carries on from the other replica when the driving one closes, no step skipped or repeated', async () => {
    const c = await cluster();
    traffic(c.live);
    await c.admin('POST', '/rollout', plan({ steps: [10, 25, 50, 75, 100], intervalMs: 400 }));
    await c.until((v) => v.step === 1, 3_000, 'the second step');
    // The driver is the replica that took the advance (its /metrics count it).
    const advanced = async (r: { url: string }) =>
      new RegExp(`decisions_total\\{flag="${c.flag}",outcome="advance"\\} 1`).test(
        await (await fetch(`${r.url}/metrics`)).text(),
      );
    // It counts the advance just after writing the percent: wait for it.
    let flags: boolean[] = [];
    await eventually(
      async () => {
        flags = await Promise.all(c.replicas.map(advanced));
        return flags.some(Boolean);
      },
      2_000,
      'the advance counted',
    );
    expect(flags.filter(Boolean)).toHaveLength(1);
    const driver = c.replicas[flags.indexOf(true)]!;
    await c.kill(driver);
    await c.until((v) => v.state === 'succeeded', 5_000, 'succeeded');
    const view = await c.view();
    expect(
      view.decisions
        .filter((d) => d.outcome === 'advance')
        .map((d) => d.step)
        .reverse(),
    ).toEqual([1, 2, 3, 4, 4]);
    expect(await c.percents()).toEqual([10, 25, 50, 75, 100]);
  });

  it('7: freezes while Redis is down (503 to operators), then resumes and records the gap', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gateway-rollout-redis-'));
    const redis = await DedicatedRedis.create(dir, { persistent: true });
    await redis.start();
    cleanups.push(async () => {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    });
    const c = await cluster(redis.url);
    traffic(c.live);
    const intervalMs = 300;
    await c.admin('POST', '/rollout', plan({ steps: [10, 50, 100], intervalMs }));
    await c.until((v) => v.step === 1, 3_000, 'the second step');
    const before = await c.view();

    await redis.stop();
    const down = await c.admin('GET', '/rollout');
    expect(down.status).toBe(503);
    expect(down.body.error).toMatch(/rollout store \(Redis\) is unreachable; nothing was changed/);
    // Down past the next decision and one more interval: nothing can be decided meanwhile.
    await eventually(
      () => Date.now() > Date.parse(before.nextDecisionAt) + 2 * intervalMs,
      5_000,
      'two intervals',
    );
    await redis.start();

    await eventually(async () => (await c.admin('GET', '/rollout')).status === 200, 5_000, 'Redis back');
    await c.until((v) => v.state === 'succeeded', 5_000, 'succeeded');
    const after = (await c.view()).decisions.slice(0, -before.decisions.length);
    const gap = after.at(-1)!;
    expect(gap).toMatchObject({ outcome: 'gap', step: 1, percent: 50 });
    expect(gap.reason).toMatch(/^gap: no decision for \d+\.\d s \(Redis unreachable\); the window restarts$/);
    expect(outcomes(await c.view()).filter((o) => o.startsWith('advance'))).toEqual([
      'advance@1',
      'advance@2',
      'advance@2',
    ]);
    expect(await c.percents()).toEqual([10, 50, 100]);
  });

  it('8: pause, resume, promote and abort as stated; a manual PUT of the percent pauses', async () => {
    const c = await cluster();
    // minRequests beyond any traffic: only the operator moves this rollout.
    const started = await c.admin('POST', '/rollout', {
      steps: [10, 50, 100],
      intervalMs: 100,
      minRequests: 1e6,
    });
    expect(started.body).toMatchObject({ state: 'running', percent: 10 });

    expect((await c.admin('POST', '/rollout/pause')).body).toMatchObject({ state: 'paused', step: 0 });
    const again = await c.admin('POST', '/rollout/pause');
    expect(again.status).toBe(409);
    expect(again.body.error).toBe(`the rollout of "${c.flag}" is paused, not running`);
    // Promote while paused: the next step, still paused.
    expect((await c.admin('POST', '/rollout/promote')).body).toMatchObject({
      state: 'paused',
      step: 1,
      percent: 50,
    });
    expect((await c.admin('POST', '/rollout/resume', undefined, c.live[1])).body).toMatchObject({
      state: 'running',
      step: 1,
      percent: 50,
    });

    const put = await fetch(`${c.live[1]!.url}/admin/flags/${c.flag}`, {
      method: 'PUT',
      headers: { ...bearer('bob'), 'content-type': 'application/json' },
      body: JSON.stringify({ percent: 30 }),
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ percent: 30, rollout: 'paused' });
    const paused = await c.view();
    expect(paused).toMatchObject({ state: 'paused', step: 1 });
    expect(paused.decisions[0]).toMatchObject({
      outcome: 'pause',
      reason: 'paused: manual change of the percent by bob (127.0.0.1)',
      by: 'bob (127.0.0.1)',
    });

    expect((await c.admin('POST', '/rollout/abort')).body).toMatchObject({ state: 'aborted', percent: 0 });
    expect((await c.admin('POST', '/rollout/resume')).status).toBe(409);
    expect(outcomes(await c.view())).toEqual([
      'start@0',
      'pause@0',
      'promote@1',
      'resume@1',
      'pause@1',
      'abort@1',
    ]);
    expect((await c.view()).decisions.slice(0, -1).every((d) => d.by?.endsWith('(127.0.0.1)'))).toBe(true);
    // The flag's history names who set each percent.
    const { body } = (await c.admin('GET', '/history')) as unknown as {
      body: { history: Array<{ by: string; new: { percent: number } }> };
    };
    expect(body.history.map((e) => [e.new.percent, e.by]).reverse()).toEqual([
      [10, 'rollout started by alice (127.0.0.1)'],
      [10, 'rollout: paused by alice (127.0.0.1)'],
      [50, 'rollout: promoted by alice (127.0.0.1) to step 2'],
      [50, 'rollout: resumed by alice (127.0.0.1) at step 2 (50 %)'],
      [30, 'bob (127.0.0.1)'],
      [0, 'rollout: aborted by alice (127.0.0.1)'],
    ]);
    // Over: a new one may start.
    expect((await c.admin('POST', '/rollout', { steps: [100] })).status).toBe(201);
  });

  it('9: 400 naming the field for bad plans, 404 for unknown flags and rollouts, 409 for a second start', async () => {
    const c = await cluster();
    const bad = async (body: object) => {
      const res = await c.admin('POST', '/rollout', body);
      expect(res.status).toBe(400);
      return res.body.error;
    };
    expect(await bad({ steps: [50, 10, 100] })).toBe('body.steps: must be strictly increasing');
    expect(await bad({ steps: [10, 50] })).toBe('body.steps: must end at 100');
    expect(await bad({ steps: [10, 100], intervalMs: 5 })).toBe('body.intervalMs: must be at least 100');
    expect(await bad({ steps: [10, 100], speed: 2 })).toMatch(/^body: Unrecognized key: "speed"/);
    expect(await bad({ steps: [10, 100], maxMismatchRate: 0.01 })).toBe(
      `body.maxMismatchRate: needs shadow traffic on for flag "${c.flag}"`,
    );

    const missing = await c.admin('GET', '/rollout');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe(`no rollout of "${c.flag}"; start one with POST`);
    expect((await c.admin('POST', '/rollout/promote')).status).toBe(404);
    const unknown = await fetch(`${c.live[0]!.url}/admin/flags/no-such-flag/rollout`, { headers: auth });
    expect(unknown.status).toBe(404);
    const anonymous = await fetch(`${c.live[0]!.url}/admin/flags/${c.flag}/rollout`);
    expect(anonymous.status).toBe(401);

    const body = { steps: [10, 100], minRequests: 1e6 };
    expect((await c.admin('POST', '/rollout', body)).status).toBe(201);
    const second = await c.admin('POST', '/rollout', body, c.live[1]);
    expect(second.status).toBe(409);
    expect(second.body.error).toBe(`a rollout of "${c.flag}" is already running; abort it first`);
  });
});
