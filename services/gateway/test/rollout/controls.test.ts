import { HttpError } from '@cinemaabyss/service-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterCounters } from '../../src/redis/cluster-counters.js';
import type { MismatchSource } from '../../src/rollout/driver.js';
import { parsePlan } from '../../src/rollout/plan.js';
import { uniqueFlag } from '../helpers.js';
import { connect, eventually, healthy, RecordingWriter, Replica, ready, runTraffic } from './replicas.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const refusal = async (action: Promise<unknown>) => {
  const error = await action.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpError);
  return { status: (error as HttpError).statusCode, message: (error as HttpError).message };
};

async function replica(options: { mismatch?: MismatchSource } = {}) {
  const flag = uniqueFlag();
  const writer = new RecordingWriter();
  const one = await new Replica(flag, writer, options).start();
  cleanups.push(() => one.close());
  return { flag, writer, one };
}

describe('rollout operator actions (real Redis)', () => {
  it('pause, resume, promote and abort move the rollout and name the operator', async () => {
    // minRequests beyond any traffic: only the operator moves this rollout.
    const { flag, writer, one } = await replica();
    const plan = parsePlan({ steps: [10, 50, 100], intervalMs: 100, minRequests: 1_000_000 });
    const { controls } = one;
    expect(await controls.view(flag)).toBeUndefined();
    expect(await refusal(controls.pause(flag, 'bob'))).toEqual({
      status: 404,
      message: `no rollout of "${flag}"; start one with POST`,
    });

    const started = await controls.start(flag, plan, 'alice');
    expect(started).toMatchObject({ flag, state: 'running', step: 0, percent: 10, plan });
    expect(await refusal(controls.start(flag, plan, 'carol'))).toEqual({
      status: 409,
      message: `a rollout of "${flag}" is already running; abort it first`,
    });

    expect(await controls.pause(flag, 'bob')).toMatchObject({ state: 'paused', step: 0 });
    expect(await refusal(controls.pause(flag, 'bob'))).toMatchObject({ status: 409 });
    expect(await controls.promote(flag, 'bob')).toMatchObject({ state: 'paused', step: 1, percent: 50 });
    expect(await controls.resume(flag, 'dave')).toMatchObject({ state: 'running', step: 1, percent: 50 });
    expect(await controls.promote(flag, 'erin')).toMatchObject({ state: 'running', step: 2, percent: 100 });
    expect(await controls.abort(flag, 'frank')).toMatchObject({ state: 'aborted', step: 2, percent: 0 });
    expect(await refusal(controls.resume(flag, 'bob'))).toEqual({
      status: 409,
      message: `the rollout of "${flag}" is aborted, not paused`,
    });

    expect(writer.percents()).toEqual([10, 10, 50, 50, 100, 0]);
    expect(writer.calls.map((c) => c.reason)).toEqual([
      'rollout started by alice',
      'rollout: paused by bob',
      'rollout: promoted by bob to step 2',
      'rollout: resumed by dave at step 2 (50 %)',
      'rollout: promoted by erin to step 3',
      'rollout: aborted by frank',
    ]);
    const view = (await controls.view(flag))!;
    const actions = view.decisions.filter((d) => d.outcome !== 'hold').map((d) => `${d.outcome} ${d.by}`);
    expect(actions).toEqual([
      'abort frank',
      'promote erin',
      'resume dave',
      'promote bob',
      'pause bob',
      'start alice',
    ]);

    // Over: a new rollout may start.
    expect(await controls.start(flag, plan, 'alice')).toMatchObject({ state: 'running', step: 0 });
    expect((await controls.view(flag))!.decisions.map((d) => d.outcome)).toEqual(['start']);
  });

  it('promote past the last step succeeds at 100 %', async () => {
    const { flag, writer, one } = await replica();
    await one.controls.start(flag, parsePlan({ steps: [100], minRequests: 1_000_000 }), 'alice');
    expect(await one.controls.promote(flag, 'bob')).toMatchObject({ state: 'succeeded', percent: 100 });
    expect(writer.percents()).toEqual([100, 100]);
  });

  it('a manual change of the percent pauses a running rollout, and only a running one', async () => {
    const { flag, writer, one } = await replica();
    const { controls } = one;
    expect(await controls.pauseForManualChange(flag, 'bob')).toBe(false);
    await controls.start(flag, parsePlan({ steps: [10, 100], minRequests: 1_000_000 }), 'alice');
    expect(await controls.pauseForManualChange(flag, 'bob (127.0.0.1)')).toBe(true);
    const view = (await controls.view(flag))!;
    expect(view).toMatchObject({ state: 'paused', percent: 10 });
    expect(view.decisions[0]).toMatchObject({
      outcome: 'pause',
      by: 'bob (127.0.0.1)',
      reason: 'paused: manual change of the percent by bob (127.0.0.1)',
    });
    expect(await controls.pauseForManualChange(flag, 'bob')).toBe(false);
    // The pause itself does not touch the flag: the operator's PUT sets it.
    expect(writer.percents()).toEqual([10]);
  });

  it('refuses maxMismatchRate on a flag without shadow traffic', async () => {
    const { flag, one } = await replica();
    expect(
      await refusal(one.controls.start(flag, parsePlan({ steps: [100], maxMismatchRate: 0.01 }), 'a')),
    ).toEqual({
      status: 400,
      message: `body.maxMismatchRate: needs shadow traffic on for flag "${flag}"`,
    });
  });

  it('refuses maxDataLagMs on a flag without a data domain, and leaves it out of its plan', async () => {
    const { flag, one } = await replica();
    expect(
      await refusal(one.controls.start(flag, parsePlan({ steps: [100], maxDataLagMs: 1_000 }), 'a')),
    ).toEqual({
      status: 400,
      message: `body.maxDataLagMs: flag "${flag}" moves no data (it has no data domain)`,
    });
    const started = await one.controls.start(flag, parsePlan({ steps: [100], minRequests: 1e6 }), 'a');
    expect(started.plan).not.toHaveProperty('maxDataLagMs');
  });

  it('rolls back at the first step on shadow mismatches above maxMismatchRate', async () => {
    // Shadow comparisons counted cluster-wide like issue 13's: a series with `compared` and `mismatched`.
    const redis = connect();
    await ready(redis);
    const counters = new ClusterCounters(redis, { flushMs: 20 }).start();
    cleanups.push(async () => {
      await counters.close();
      redis.disconnect();
    });
    const series = `shadow-${uniqueFlag()}`;
    const mismatch: MismatchSource = {
      async window(_flag, fromMs, toMs) {
        const { compared = 0, mismatched = 0 } = await counters.read(series, fromMs, toMs);
        return { rate: compared > 0 ? mismatched / compared : 0, samples: compared };
      },
    };
    const { flag, writer, one } = await replica({ mismatch });
    const traffic = runTraffic(flag, writer, [one], { old: healthy, new: healthy });
    const shadow = setInterval(() => {
      counters.add(series, 'compared', 20);
      counters.add(series, 'mismatched', 1);
    }, 5);
    cleanups.push(() => {
      traffic.stop();
      clearInterval(shadow);
    });
    await one.controls.start(
      flag,
      parsePlan({ steps: [10, 50, 100], intervalMs: 200, minRequests: 30, maxMismatchRate: 0.01 }),
      'alice',
    );
    await eventually(() => writer.percent === 0, 2_000, 'rolled back to 0 %');
    const rollback = (await one.controls.view(flag))!.decisions[0]!;
    expect(rollback).toMatchObject({ outcome: 'rollback', step: 0, percent: 0 });
    expect(rollback.reason).toMatch(/^mismatch 5 % \(n=\d[\d ]*\) > 1 %$/);
    expect(writer.percents()).toEqual([10, 0]);
  });
});
