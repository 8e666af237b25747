import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  cli,
  expectRefusal,
  type Gateway,
  startCli,
  startGateway,
  startUpstream,
  uniqueFlag,
  waitFor,
} from './helpers.js';

// The rollout commands run as a process against a real gateway and Redis. The controls need no traffic
// (with a one-minute interval nothing is decided meanwhile); the --watch cases run a rollout to its end
// in front of two real upstreams under a loop of requests.

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

interface Decision {
  at: string;
  step: number;
  percent: number;
  outcome: string;
  reason: string;
  by?: string;
}
interface View {
  state: string;
  step: number;
  percent: number;
  plan: Record<string, unknown>;
  nextDecisionAt: string;
  decisions: Decision[];
}

/** The gateway's own view of the flag: its rollout and the newest entries of its history. */
function adminOf(gateway: Gateway, flag: string) {
  const get = async (path: string) =>
    (await gateway.app.inject({ url: `/admin/flags/${flag}${path}`, headers: auth })).json();
  return {
    rollout: (): Promise<View> => get('/rollout'),
    percent: async (): Promise<number> => (await get('')).percent,
    history: async (): Promise<Array<{ by: string; new: { percent: number } }>> =>
      (await get('/history')).history,
  };
}

describe('cinemaabyss rollout start, status and the controls', () => {
  const flag = uniqueFlag();
  let gateway: Gateway;
  let env: Record<string, string>;
  let admin: ReturnType<typeof adminOf>;

  beforeAll(async () => {
    gateway = await startGateway(flag);
    env = { CINEMAABYSS_GATEWAY: gateway.url, CINEMAABYSS_TOKEN: ADMIN_TOKEN };
    admin = adminOf(gateway, flag);
  });
  afterAll(() => gateway.close());

  it("refuses a bad plan with the gateway's message, and nothing is started", async () => {
    expectRefusal(
      await cli(['rollout', 'start', flag, '--steps', '5,25,50', '--interval', '1m'], env),
      'body.steps: must end at 100 (400)',
    );
    expectRefusal(
      await cli(['rollout', 'start', flag, '--steps', '50,25,100', '--interval', '1m'], env),
      'body.steps: must be strictly increasing (400)',
    );
    expectRefusal(
      await cli(['rollout', 'start', flag, '--steps', '5,100', '--interval', '50ms'], env),
      'body.intervalMs: must be at least 100 (400)',
    );
    expectRefusal(
      await cli(
        ['rollout', 'start', flag, '--steps', '5,100', '--interval', '1m', '--max-mismatch', '1%'],
        env,
      ),
      `body.maxMismatchRate: needs shadow traffic on for flag "${flag}" (400)`,
    );
    // Refused by the CLI itself: a bare number has no unit.
    const bare = await cli(['rollout', 'start', flag, '--steps', '5,100', '--interval', '60'], env);
    expect(bare).toMatchObject({ code: 2, stdout: '' });
    expect(bare.stderr).toContain('--interval: "60" is not a duration');

    expectRefusal(
      await cli(['rollout', 'status', flag], env),
      `no rollout of "${flag}"; start one with POST (404)`,
    );
    expect(await admin.percent()).toBe(0);
  });

  it('starts with human durations and percents, in the units the gateway takes', async () => {
    const start = await cli(
      [
        'rollout',
        'start',
        flag,
        '--steps',
        '10,50%,100',
        '--interval',
        '1m',
        '--min-requests',
        '50',
        '--max-error-increase',
        '2%',
        '--max-latency-ratio',
        '2x',
        '--latency-floor',
        '100ms',
      ],
      env,
    );
    expect(start).toMatchObject({ code: 0, stderr: '' });
    const lines = start.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`rollout  ${flag}: running, step 1/3 at 10%`);
    expect(lines[1]).toBe('plan     [##------------------] [10%] → 50% → 100%');
    expect(lines[2]).toMatch(
      /^last {5}\d\d:\d\d:\d\d step 1 start: started: steps 10, 50, 100 %, 60000 ms each$/,
    );
    expect(lines[3]).toMatch(/^next {5}decision in (1m|59s|58s)$/);

    const view = await admin.rollout();
    expect(view).toMatchObject({ state: 'running', step: 0, percent: 10 });
    expect(view.plan).toEqual({
      steps: [10, 50, 100],
      intervalMs: 60_000,
      minRequests: 50,
      maxErrorRateIncrease: 0.02,
      maxLatencyRatio: 2,
      latencyFloorMs: 100,
    });
    expect(view.decisions[0]).toMatchObject({ outcome: 'start', by: expect.stringMatching(/^admin\b/) });
    expect(await admin.percent()).toBe(10);
  });

  it('shows the status as a table and as the JSON the gateway answers', async () => {
    const json = await cli(['rollout', 'status', flag, '--json'], env);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual(await admin.rollout());

    const table = await cli(['rollout', 'status', flag], env);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    expect(table.stdout).toMatch(new RegExp(`^rollout  ${flag}: running, step 1/3 at 10%$`, 'm'));
    expect(table.stdout).toMatch(/^next {5}decision in (1m|\d+s)$/m);
  });

  it('refuses a second start as one line (409), and leaves the rollout alone', async () => {
    const before = await admin.rollout();
    expectRefusal(
      await cli(['rollout', 'start', flag, '--steps', '50,100', '--interval', '1s'], env),
      `a rollout of "${flag}" is already running; abort it first (409)`,
    );
    expect(await admin.rollout()).toEqual(before);
  });

  it('pauses, resumes, promotes and aborts, each in the rollout and the flag history', async () => {
    const pause = await cli(['rollout', 'pause', flag], env);
    expect(pause).toMatchObject({ code: 0, stderr: '' });
    expect(pause.stdout).toMatch(new RegExp(`^rollout  ${flag}: paused, step 1/3 at 10%$`, 'm'));
    expect(pause.stdout).not.toMatch(/^next/m);
    let view = await admin.rollout();
    expect(view).toMatchObject({ state: 'paused', step: 0, percent: 10 });
    expect(view.decisions[0]).toMatchObject({
      outcome: 'pause',
      reason: expect.stringMatching(/^paused by admin\b/),
    });
    expect((await admin.history())[0]!.by).toMatch(/^rollout: paused by admin\b/);
    expectRefusal(
      await cli(['rollout', 'pause', flag], env),
      `the rollout of "${flag}" is paused, not running (409)`,
    );

    const resume = await cli(['rollout', 'resume', flag, '--json'], env);
    expect(resume.code).toBe(0);
    expect(JSON.parse(resume.stdout)).toEqual(await admin.rollout());
    expect(await admin.rollout()).toMatchObject({ state: 'running', step: 0, percent: 10 });
    expect((await admin.history())[0]!.by).toMatch(/^rollout: resumed by admin\b.* at step 1 \(10 %\)$/);

    const promote = await cli(['rollout', 'promote', flag], env);
    expect(promote).toMatchObject({ code: 0, stderr: '' });
    expect(promote.stdout).toMatch(new RegExp(`^rollout  ${flag}: running, step 2/3 at 50%$`, 'm'));
    expect(promote.stdout).toMatch(/^last {5}\S+ step 2 promote: promoted by admin\b.* to step 2$/m);
    expect(await admin.rollout()).toMatchObject({ state: 'running', step: 1, percent: 50 });
    expect(await admin.percent()).toBe(50);
    expect((await admin.history())[0]).toMatchObject({ new: { percent: 50 } });

    const abort = await cli(['rollout', 'abort', flag], env);
    expect(abort).toMatchObject({ code: 0, stderr: '' });
    expect(abort.stdout).toMatch(new RegExp(`^rollout  ${flag}: aborted, step 2/3 at 0%$`, 'm'));
    view = await admin.rollout();
    expect(view).toMatchObject({ state: 'aborted', percent: 0 });
    expect(view.decisions.map((d) => d.outcome)).toEqual(['abort', 'promote', 'resume', 'pause', 'start']);
    expect(await admin.percent()).toBe(0);
    expect((await admin.history())[0]).toMatchObject({
      by: expect.stringMatching(/^rollout: aborted by admin\b/),
      new: { percent: 0 },
    });
    expectRefusal(
      await cli(['rollout', 'resume', flag], env),
      `the rollout of "${flag}" is aborted, not paused (409)`,
    );
  });

  it('shows a wrong token as a 401, and nothing is changed', async () => {
    const wrong = { ...env, CINEMAABYSS_TOKEN: 'not-the-token-at-all' };
    const refusal =
      'the gateway refused the token (401: missing or invalid bearer token); check CINEMAABYSS_TOKEN or --token-file';
    expectRefusal(await cli(['rollout', 'abort', flag], wrong), refusal);
    expectRefusal(await cli(['rollout', 'status', flag, '--watch'], wrong), refusal);
    expect(await admin.rollout()).toMatchObject({ state: 'aborted' });
  });

  it('names an unknown flag (404) for each command', async () => {
    const unknown = `unknown flag "no-such-flag"; known flags: ${flag} (404)`;
    expectRefusal(
      await cli(['rollout', 'start', 'no-such-flag', '--steps', '100', '--interval', '1m'], env),
      unknown,
    );
    for (const verb of ['status', 'pause', 'resume', 'promote', 'abort'])
      expectRefusal(await cli(['rollout', verb, 'no-such-flag'], env), unknown);
    expectRefusal(await cli(['rollout', 'status', 'no-such-flag', '--watch'], env), unknown);
  });
});

// Short windows, as in the gateway's own rollout tests: counts flushed every 15 ms, judged 50 ms after a
// window closes, the driver looking every 80 ms, 50 ms counting slots.
const TIMING = {
  CLUSTER_COUNTERS_FLUSH_MS: '15',
  ROLLOUT_SETTLE_MS: '50',
  ROLLOUT_LEASE_MS: '240',
  ROLLOUT_RESOLUTION_MS: '50',
};
// The gateway, the upstreams and the traffic share this process on a loaded machine, so a healthy p99
// can reach a few hundred ms: latency is not what these tests are about.
const PLAN = ['--min-requests', '10', '--latency-floor', '2s'];

describe('cinemaabyss rollout status --watch, to the end of a real rollout', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /**
   * A gateway in front of an old side answering 200 and a new side answering `newStatus`, and a rollout
   * of its flag with a `--watch` following it. The traffic starts only once the watch shows the rollout
   * running, so nothing but a hold (no traffic) can be decided before the watch is there to see it: its
   * first line is the start, or a hold if the machine is slow.
   */
  async function watched(
    newStatus: number,
    args: string[],
    {
      act,
      tty = false,
    }: { act?: (flag: string, env: Record<string, string>) => Promise<void>; tty?: boolean } = {},
  ) {
    const flag = uniqueFlag();
    const [old, neu] = await Promise.all([
      startUpstream(() => ({ status: 200, body: { side: 'old' } })),
      startUpstream(() => ({ status: newStatus, body: { side: 'new' } })),
    ]);
    const gateway = await startGateway(flag, { upstreams: { old: old.url, new: neu.url }, env: TIMING });
    cleanups.push(old.close, neu.close, gateway.close);
    const env = { CINEMAABYSS_GATEWAY: gateway.url, CINEMAABYSS_TOKEN: ADMIN_TOKEN };

    expect((await cli(['rollout', 'start', flag, ...args, ...PLAN], env)).code).toBe(0);
    const watch = startCli(['rollout', 'status', flag, '--watch'], env, undefined, { tty });
    // A terminal shows `flag: running, step 1/2 at 50%`, a pipe `flag running step 1/2 50%`.
    const running = new RegExp(`${flag}:? running,? step 1/`);
    await waitFor(async () => running.test(watch.stdout), 10_000, 'the watch to start');
    if (act) await act(flag, env);
    else traffic(gateway.url);
    const done = await watch.done;
    return { ...done, flag, admin: adminOf(gateway, flag), lines: done.stdout.trimEnd().split('\n') };
  }

  /**
   * Eight requests in flight with random users, so each side gets its share at every percent, until the
   * test ends (and at most 100 000 in all, so a forgotten loop still ends).
   */
  function traffic(url: string) {
    let stopped = false;
    let sent = 0;
    const worker = async () => {
      while (!stopped && sent++ < 100_000) {
        const user = Math.random().toString(36).slice(2);
        await fetch(`${url}/api/movies`, { headers: { 'x-user-id': user } })
          .then((res) => res.arrayBuffer())
          .catch(() => {});
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    cleanups.push(async () => {
      stopped = true;
      await Promise.all(workers);
    });
  }

  const clock = '\\d\\d:\\d\\d:\\d\\d';
  const counts = '\\(n=\\d[\\d ]*\\)';

  it('exits 0 once a healthy rollout has succeeded, its last line the final state and reason', async () => {
    const { code, stderr, flag, admin, lines } = await watched(200, [
      '--steps',
      '50,100',
      '--interval',
      '500ms',
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines[0]).toMatch(
      new RegExp(
        `^${clock} ${flag} running step 1/2 50% \\| (start: started: steps 50, 100 %, 500 ms each|hold: too little traffic: .*)$`,
      ),
    );
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^${clock} ${flag} succeeded step 2/2 100% \\| advance: healthy: new 5xx 0 % ${counts} vs old 0 % ${counts}; p99 \\d+ ms vs \\d+ ms \\(limit 2000 ms\\)`,
      ),
    );
    expect(await admin.rollout()).toMatchObject({ state: 'succeeded', percent: 100 });
    expect(await admin.percent()).toBe(100);
  });

  it('exits 1 once a failing new side is rolled back, naming the numbers that did it', async () => {
    const { code, stderr, flag, admin, lines } = await watched(500, [
      '--steps',
      '50,100',
      '--interval',
      '500ms',
    ]);
    expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
    expect(lines[0]).toMatch(new RegExp(`^${clock} ${flag} running step 1/2 50% \\| (start|hold): `));
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^${clock} ${flag} rolled-back step 1/2 0% \\| rollback: new 5xx 100 % ${counts} vs old 0 % ${counts}: increase 100 pp > 1 pp$`,
      ),
    );
    expect(await admin.rollout()).toMatchObject({ state: 'rolled-back', percent: 0 });
    expect(await admin.percent()).toBe(0);
  });

  it('exits 1 when the rollout it watches is aborted', async () => {
    const abort = async (flag: string, env: Record<string, string>) => {
      expect((await cli(['rollout', 'abort', flag], env)).code).toBe(0);
    };
    const { code, stderr, flag, admin, lines } = await watched(
      200,
      ['--steps', '10,50,100', '--interval', '1m'],
      { act: abort },
    );
    expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      new RegExp(`^${clock} ${flag} aborted step 1/3 0% \\| abort: aborted by admin\\b`),
    );
    expect(await admin.rollout()).toMatchObject({ state: 'aborted', percent: 0 });
  });

  it('on a terminal, redraws the status in place until the rollout has succeeded', async () => {
    const { code, flag, stdout } = await watched(200, ['--steps', '50,100', '--interval', '500ms'], {
      tty: true,
    });
    expect(code).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matches the ANSI escapes the redraw writes
    expect(stdout).toMatch(/\x1b\[\d+F\x1b\[J/);
    const final = stdout.slice(stdout.lastIndexOf('\x1b[J') + 3).split(/\r?\n/);
    expect(final[0]).toBe(`rollout  ${flag}: succeeded, step 2/2 at 100%`);
    expect(final[1]).toBe('plan     [####################] 50% → [100%]');
    expect(final[2]).toMatch(/^last {5}\d\d:\d\d:\d\d step 2 advance: healthy: new 5xx 0 % /);
    // A p99 is a bucket bound (181.01933598375615 ms): shown with four significant digits.
    expect(final[3]).toMatch(
      /^numbers {2}old\.requests=\d+ old\.errors=0 old\.errorRate=0 old\.p99Ms=(\d{1,4}|\d{1,3}\.\d{1,3}) new\.requests=\d+ new\.errors=0 new\.errorRate=0 new\.p99Ms=(\d{1,4}|\d{1,3}\.\d{1,3}) latencyLimitMs=2000$/,
    );
    expect(stdout).not.toContain(`${flag} running step`);
  });
});
