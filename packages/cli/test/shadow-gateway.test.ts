import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  cli,
  expectRefusal,
  type Gateway,
  startGateway,
  startUpstream,
  uniqueFlag,
  waitFor,
} from './helpers.js';

// The shadow commands run as a process against a real gateway and Redis, in front of two real
// upstreams: the old side serves every read (percent 0) and the new side gets the shadow copies.

const READS = 20;
/** The new side's rating differs for these ids only: 4 of the 20 reads differ. */
const differs = (id: number) => id % 5 === 0;

describe('cinemaabyss shadow, run as a process against a real gateway and Redis', () => {
  const flag = uniqueFlag();
  let gateway: Gateway;
  let env: Record<string, string>;
  const closers: Array<() => Promise<void>> = [];

  /** A movie as each side answers it; served_at differs on every answer, on both sides. */
  const side = (rating: (id: number) => number) => {
    let calls = 0;
    return startUpstream((url) => {
      const id = Number(url.searchParams.get('id'));
      return { status: 200, body: { id, rating: rating(id), served_at: `t${calls++}` } };
    });
  };
  const admin = async (path = '') =>
    (
      await gateway.app.inject({
        url: `/admin/flags/${flag}/shadow${path}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json();

  beforeAll(async () => {
    const [old, neu] = await Promise.all([side(() => 8.5), side((id) => (differs(id) ? 8.6 : 8.5))]);
    closers.push(old.close, neu.close);
    // Counts reach Redis every 15 ms instead of every second, so the report is complete sooner.
    gateway = await startGateway(flag, {
      upstreams: { old: old.url, new: neu.url },
      env: { CLUSTER_COUNTERS_FLUSH_MS: '15' },
    });
    env = { CINEMAABYSS_GATEWAY: gateway.url, CINEMAABYSS_TOKEN: ADMIN_TOKEN };
  });
  afterAll(async () => {
    await gateway.close();
    for (const close of closers) await close();
  });

  it('reports a flag that was never shadowed as such', async () => {
    const run = await cli(['shadow', 'report', flag], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^shadowing {3}off$/m);
    expect(run.stdout).toMatch(/^since {7}never set$/m);
    expect(run.stdout).toMatch(/^mismatched {2}0 \(nothing compared yet\)$/m);
    const { from: _from, ...report } = JSON.parse(
      (await cli(['shadow', 'report', flag, '--json'], env)).stdout,
    );
    // `from` is the oldest window kept, so it moves with the clock until the report has a start.
    const { from: _now, ...stored } = await admin();
    expect(report).toEqual(stored);
  });

  it('sets shadowing, counts the differing reads, and shows them as a table and as JSON', async () => {
    const set = await cli(['shadow', 'set', flag, '--percent', '100', '--ignore', '$.served_at'], env);
    expect(set).toMatchObject({
      code: 0,
      stderr: '',
      stdout: `${flag}: shadowing 100% of reads, ignoring $.served_at\n`,
    });
    await waitFor(async () => (await admin()).percent === 100, 5_000, 'the gateway to see the settings');
    expect(await admin()).toMatchObject({ percent: 100, ignore: ['$.served_at'] });

    for (let id = 1; id <= READS; id++) {
      const res = await fetch(`${gateway.url}/api/movies?id=${id}`, { headers: { 'x-user-id': `u${id}` } });
      expect(await res.json()).toMatchObject({ id, rating: 8.5 });
    }
    // Counts and samples reach Redis in their own writes: wait for both.
    await waitFor(
      async () => {
        const { compared, samples } = await admin();
        return compared === READS && samples.length === 4;
      },
      10_000,
      `${READS} comparisons and 4 samples`,
    );

    const json = await cli(['shadow', 'report', flag, '--json'], env);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({
      percent: 100,
      ignore: ['$.served_at'],
      compared: READS,
      matched: 16,
      mismatched: 4,
      mismatchRate: 0.2,
      errors: 0,
      dropped: 0,
      skipped: 0,
    });
    expect(report.paths[0]).toEqual({
      path: '$.rating',
      mismatches: 4,
      differed: 4,
      noise: 0,
      excluded: null,
    });
    expect(report.paths[1]).toMatchObject({ path: '$.served_at', mismatches: 0, excluded: 'ignore' });
    expect(report.samples.map((sample: { url: string }) => sample.url).sort()).toEqual([
      '/api/movies?id=10',
      '/api/movies?id=15',
      '/api/movies?id=20',
      '/api/movies?id=5',
    ]);

    const table = await cli(['shadow', 'report', flag], env);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    expect(table.stdout).toMatch(/^shadowing {3}100% of GET and HEAD requests$/m);
    expect(table.stdout).toMatch(/^ignoring {4}\$\.served_at$/m);
    expect(table.stdout).toMatch(new RegExp(`^since {7}${report.since}$`, 'm'));
    expect(table.stdout).toMatch(/^compared {4}20$/m);
    expect(table.stdout).toMatch(/^matched {5}16$/m);
    expect(table.stdout).toMatch(/^mismatched {2}4 \(20%, noise and ignored paths left out\)$/m);
    const rows = table.stdout.split('\n\n')[1]!.split('\n');
    expect(rows[0]!.split(/\s+/)).toEqual(['PATH', 'MISMATCHES', 'DIFFERED', 'NOISE', 'EXCLUDED']);
    expect(rows[1]!.split(/\s+/)).toEqual(['$.rating', '4', '4', '0', '-']);
    expect(rows[2]!.split(/\s+/)).toEqual(['$.served_at', '0', String(READS), expect.any(String), 'ignore']);
    expect(table.stdout).toContain('4 samples of mismatches: see --json');
  });

  it('resets the report, and turns shadowing off', async () => {
    const before = (await admin()).since as string;
    const reset = await cli(['shadow', 'reset', flag], env);
    expect(reset).toMatchObject({ code: 0, stderr: '', stdout: `${flag}: shadow report reset\n` });
    await waitFor(async () => (await admin()).since !== before, 5_000, 'the new report');
    expect(await admin()).toMatchObject({ percent: 100, compared: 0, mismatched: 0, samples: [] });

    const off = await cli(['shadow', 'set', flag, '--percent', '0', '--json'], env);
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({ name: flag, percent: 0, ignore: ['$.served_at'] });
    await waitFor(async () => (await admin()).percent === 0, 5_000, 'shadowing off');
    expect((await cli(['shadow', 'set', flag, '--percent', '0'], env)).stdout).toBe(
      `${flag}: shadowing off\n`,
    );
  });

  it('shows a wrong token as a 401, and nothing is written', async () => {
    const before = await admin();
    const run = await cli(['shadow', 'set', flag, '--percent', '50'], {
      ...env,
      CINEMAABYSS_TOKEN: 'wrong-token',
    });
    expectRefusal(
      run,
      'the gateway refused the token (401: missing or invalid bearer token); check CINEMAABYSS_TOKEN or --token-file',
    );
    expect(await admin()).toEqual(before);
  });

  it('names an unknown flag (404) for each command', async () => {
    const known = `unknown flag "no-such-flag"; known flags: ${flag} (404)`;
    expectRefusal(await cli(['shadow', 'set', 'no-such-flag', '--percent', '5'], env), known);
    expectRefusal(await cli(['shadow', 'report', 'no-such-flag'], env), known);
    expectRefusal(await cli(['shadow', 'reset', 'no-such-flag'], env), known);
  });

  it("shows the gateway's message for bad input, and nothing is written", async () => {
    const before = await admin();
    expectRefusal(
      await cli(['shadow', 'set', flag, '--percent', '101'], env),
      'body.percent: must be an integer from 0 to 100 (400)',
    );
    expectRefusal(
      await cli(['shadow', 'set', flag, '--percent', '12.5'], env),
      'body.percent: must be an integer from 0 to 100 (400)',
    );
    const badPath = await cli(['shadow', 'set', flag, '--percent', '5', '--ignore', 'served_at'], env);
    expect(badPath).toMatchObject({ code: 1, stdout: '' });
    expect(badPath.stderr).toMatch(/^cinemaabyss: body\.ignore\.0: .+ \(400\)\n$/);
    expect(await admin()).toEqual(before);
  });
});
