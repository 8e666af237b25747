import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/rollout/plan.js';
import type { DecisionEntry } from '../../src/rollout/store.js';
import { renderFamilies } from '../../src/telemetry/exposition.js';
import { DedicatedRedis } from '../dedicated-redis.js';
import { uniqueFlag } from '../helpers.js';
import { type Behaviour, eventually, healthy, RecordingWriter, Replica, runTraffic } from './replicas.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two replicas sharing one Redis and one flag, with traffic split across both. */
async function cluster(sides: { old: Behaviour; new: Behaviour }, url?: string) {
  const flag = uniqueFlag();
  const writer = new RecordingWriter();
  const replicas = await Promise.all([
    new Replica(flag, writer, { url }).start(),
    new Replica(flag, writer, { url }).start(),
  ]);
  const live = [...replicas];
  const traffic = runTraffic(flag, writer, live, sides);
  cleanups.push(async () => {
    traffic.stop();
    await Promise.all(live.map((replica) => replica.close()));
  });
  /** The state as a live replica last read it (in memory, so polling it costs nothing). */
  const state = () => live[0]!.driver.observed.get(flag)?.state;
  const stored = async () => (await live[0]!.store.get(flag))?.state;
  const decisions = async () => (await live[0]!.store.decisions(flag)).reverse();
  /** Closes a replica as a dying gateway would, and takes it out of the traffic. */
  const kill = async (replica: Replica) => {
    live.splice(live.indexOf(replica), 1);
    await replica.close();
  };
  return { flag, writer, replicas, live, state, stored, decisions, kill };
}

const outcomes = (decisions: DecisionEntry[]) => decisions.map((d) => `${d.outcome}@${d.step}`);
const plan = (body: object) => parsePlan({ minRequests: 30, ...body });

describe('rollout driver (real Redis, two replicas)', () => {
  it('takes a healthy new side to succeeded and 100 % within steps x interval + one interval', async () => {
    const c = await cluster({ old: healthy, new: healthy });
    const intervalMs = 500;
    const started = performance.now();
    await c.replicas[0]!.controls.start(c.flag, plan({ steps: [10, 50, 100], intervalMs }), 'alice');
    await eventually(async () => c.writer.percent === 100, 4 * intervalMs, '100 %');
    await eventually(async () => c.state() === 'succeeded', 4 * intervalMs, 'succeeded');
    expect(performance.now() - started).toBeLessThan(4 * intervalMs);
    expect(c.writer.percents()).toEqual([10, 50, 100]);
    expect(outcomes(await c.decisions())).toEqual(['start@0', 'advance@1', 'advance@2', 'advance@2']);
    const last = (await c.decisions()).at(-1)!;
    expect(last.reason).toMatch(
      /^healthy: new 5xx 0 % \(n=\d[\d ]*\) vs old 0 % \(n=\d[\d ]*\); p99 \d+ ms vs \d+ ms/,
    );
    expect(last.numbers!.new.requests).toBeGreaterThanOrEqual(30);
    expect(last.reason).toMatch(/\(old side: its last judged window, as it gets no traffic at 100 %\)$/);

    // Exactly one replica took each decision; both show the final state once they have looked again.
    const succeeded = `gateway_rollout_state{flag="${c.flag}",state="succeeded"} 1`;
    await eventually(
      () =>
        c.replicas.every((replica) => renderFamilies(replica.driver.metricFamilies()).includes(succeeded)),
      1_000,
      'both replicas to show succeeded',
    );
    const metrics = c.replicas.map((replica) => renderFamilies(replica.driver.metricFamilies()));
    for (const text of metrics) {
      expect(text).toContain(`gateway_rollout_state{flag="${c.flag}",state="running"} 0`);
      expect(text).toContain(`gateway_rollout_step{flag="${c.flag}"} 2`);
    }
    const advances = metrics.map((text) =>
      Number(
        text.match(new RegExp(`decisions_total\\{flag="${c.flag}",outcome="advance"\\} (\\d+)`))?.[1] ?? 0,
      ),
    );
    expect(advances[0]! + advances[1]!).toBe(3);
  });

  it('rolls back to 0 % within one interval after the first window with 20 % 500s on the new side', async () => {
    let failing = false;
    const c = await cluster({
      old: healthy,
      new: () => (failing && Math.random() < 0.2 ? { status: 500, seconds: 0.002 } : healthy()),
    });
    const intervalMs = 200;
    await c.replicas[0]!.controls.start(c.flag, plan({ steps: [10, 50, 100], intervalMs }), 'alice');
    await eventually(() => c.writer.percent === 50, 4 * intervalMs, 'the second step');
    failing = true;
    // The first bad window is the one of the second step; the decision on it must come within one interval.
    await eventually(async () => c.writer.percent === 0, 2 * intervalMs, 'rolled back to 0 %');
    expect(await c.stored()).toBe('rolled-back');
    expect(c.writer.percents()).toEqual([10, 50, 0]);
    const rollback = (await c.decisions()).at(-1)!;
    expect(rollback).toMatchObject({ outcome: 'rollback', step: 1, percent: 0 });
    expect(rollback.reason).toMatch(
      /^new 5xx \d+(\.\d)? % \(n=\d[\d ]*\) vs old 0 % \(n=\d[\d ]*\): increase \d+(\.\d)? pp > 1 pp$/,
    );
  });

  it('rolls back a new side 300 ms slower, naming both p99s', async () => {
    const c = await cluster({
      old: healthy,
      new: () => ({ status: 200, seconds: 0.3 + Math.random() * 0.01 }),
    });
    await c.replicas[0]!.controls.start(c.flag, plan({ steps: [10, 50, 100], intervalMs: 200 }), 'alice');
    await eventually(async () => c.writer.percent === 0, 1_000, 'rolled back to 0 %');
    expect(await c.stored()).toBe('rolled-back');
    expect(c.writer.percents()).toEqual([10, 0]);
    expect((await c.decisions()).at(-1)!.reason).toMatch(
      /^p99 3[0-6]\d ms vs [1-6] ms: new above 50 ms = max\(50 ms, 1.5 x old\)$/,
    );
  });

  it('holds without traffic and never advances', async () => {
    const flag = uniqueFlag();
    const writer = new RecordingWriter();
    const replicas = await Promise.all([
      new Replica(flag, writer).start(),
      new Replica(flag, writer).start(),
    ]);
    cleanups.push(() => Promise.all(replicas.map((replica) => replica.close())).then(() => {}));
    await replicas[0].controls.start(flag, plan({ steps: [10, 100], intervalMs: 100 }), 'alice');
    const holds = async () => (await replicas[1].store.decisions(flag)).filter((d) => d.outcome === 'hold');
    await eventually(async () => (await holds()).length >= 4, 2_000, 'four holds');
    expect((await holds())[0]!.reason).toBe('too little traffic: new n=0, old n=0 < 30 needed on each side');
    expect(await replicas[0].store.get(flag)).toMatchObject({ state: 'running', step: 0, percent: 10 });
    expect(writer.percents()).toEqual([10]);
  });

  it('carries on from the other replica when the driving one dies, no step skipped or repeated', async () => {
    const c = await cluster({ old: healthy, new: healthy });
    await c.replicas[0]!.controls.start(
      c.flag,
      plan({ steps: [10, 25, 50, 75, 100], intervalMs: 150 }),
      'alice',
    );
    await eventually(() => c.writer.percent === 25, 2_000, 'the second step');
    const holder = c.replicas.find((replica) => replica.driver.holding().includes(c.flag))!;
    await c.kill(holder);
    const survivor = c.live[0]!;
    await eventually(async () => c.state() === 'succeeded', 3_000, 'succeeded');
    // Done: the lease is let go.
    await eventually(() => survivor.driver.holding().length === 0, 1_000, 'the lease released');
    expect(c.writer.percents()).toEqual([10, 25, 50, 75, 100]);
    const steps = (await c.decisions()).filter((d) => d.outcome === 'advance').map((d) => d.step);
    expect(steps).toEqual([1, 2, 3, 4, 4]);
  });

  it('freezes while Redis is down, then resumes and records the gap', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gateway-rollout-redis-'));
    const redis = await DedicatedRedis.create(dir, { persistent: true });
    await redis.start();
    cleanups.push(async () => {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    });
    const c = await cluster({ old: healthy, new: healthy }, redis.url);
    await c.replicas[0]!.controls.start(c.flag, plan({ steps: [10, 50, 100], intervalMs: 150 }), 'alice');
    await eventually(() => c.writer.percent === 50, 2_000, 'the second step');

    await redis.stop();
    await eventually(() => c.replicas.every((replica) => replica.driver.frozen), 2_000, 'both frozen');
    const writesWhileDown = c.writer.calls.length;
    // Frozen across more than one interval: no decision could be taken meanwhile.
    const downSince = performance.now();
    await eventually(() => performance.now() - downSince > 300, 1_000, 'two intervals down');
    expect(c.writer.calls.length).toBe(writesWhileDown);

    await redis.start();
    await eventually(async () => c.state() === 'succeeded', 3_000, 'succeeded');
    expect(c.writer.percents()).toEqual([10, 50, 100]);
    const decisions = await c.decisions();
    const gap = decisions.find((d) => d.outcome === 'gap')!;
    expect(gap).toMatchObject({ step: 1, percent: 50 });
    expect(gap.reason).toMatch(/^gap: no decision for \d+\.\d s \(Redis unreachable\); the window restarts$/);
    expect(decisions.filter((d) => d.outcome === 'advance').map((d) => d.step)).toEqual([1, 2, 2]);
  });
});
