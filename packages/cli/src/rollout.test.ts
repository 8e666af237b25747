import { describe, expect, it } from 'vitest';
import type { Context } from './command.js';
import { CliError } from './http.js';
import { describeRollout, flatten, type Rollout, rollout, untilNextDecision } from './rollout.js';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();

const running: Rollout = {
  state: 'running',
  step: 1,
  percent: 25,
  plan: { steps: [5, 25, 50, 100], intervalMs: 60_000 },
  startedAt: iso(0),
  nextDecisionAt: iso(120_000),
  decisions: [
    {
      at: iso(60_000),
      step: 0,
      outcome: 'advance',
      reason: 'new 5xx 0.1 % (n=1 204) vs old 0.1 % (n=3 611)',
      numbers: { new: { errorRate: 0.001, n: 1204 }, old: { errorRate: 0.001, n: 3611 } },
    },
  ],
};

describe('rollout status in words', () => {
  it('shows the step, the bar over the plan, the last decision with its numbers and the next one', () => {
    const text = describeRollout('movies', running, T0 + 78_000);
    const lines = text.split('\n');
    expect(lines[0]).toBe('rollout  movies: running, step 2/4 at 25%');
    expect(lines[1]).toBe('plan     [#####---------------] 5% → [25%] → 50% → 100%');
    expect(lines[2]).toMatch(
      /^last {5}\d\d:\d\d:\d\d step 1 advance: new 5xx 0\.1 % \(n=1 204\) vs old 0\.1 % \(n=3 611\)$/,
    );
    expect(lines[3]).toBe('numbers  new.errorRate=0.001 new.n=1204 old.errorRate=0.001 old.n=3611');
    expect(lines[4]).toBe('next     decision in 42s');
    expect(lines).toHaveLength(5);
  });

  it('counts holds, and shows no next decision once the rollout has ended', () => {
    const held: Rollout = {
      ...running,
      state: 'rolled-back',
      percent: 0,
      decisions: [
        { at: iso(120_000), step: 1, outcome: 'rollback', reason: 'p99 812 ms vs 40 ms' },
        { at: iso(60_000), step: 1, outcome: 'hold', reason: 'old side saw 12 requests < 200' },
      ],
    };
    const text = describeRollout('movies', held, T0 + 130_000);
    expect(text).toContain('movies: rolled-back, step 2/4 at 0%');
    expect(text).toContain('[--------------------] 5% → 25% → 50% → 100%');
    expect(text).toContain('rollback: p99 812 ms vs 40 ms');
    expect(text).toContain('holds    1 of 2 decisions');
    expect(text).not.toContain('next');
  });

  it('times the next decision from nextDecisionAt, and none unless running', () => {
    expect(untilNextDecision(running, T0 + 70_000)).toBe(50_000);
    expect(untilNextDecision(running, T0 + 500_000)).toBe(0);
    expect(untilNextDecision({ ...running, state: 'paused' }, T0)).toBeUndefined();
  });

  it('flattens nested numbers into key=value pairs', () => {
    expect(flatten({ a: 1, b: { c: 'x', d: [1, 2] } })).toEqual(['a=1', 'b.c=x', 'b.d=[1,2]']);
    expect(flatten(undefined)).toEqual([]);
    expect(flatten({ p99Ms: 181.01933598375615, errorRate: 0.024137, requests: 12_345 })).toEqual([
      'p99Ms=181',
      'errorRate=0.02414',
      'requests=12345',
    ]);
  });
});

/** A terminal-like stream that keeps what is written. */
function screen(isTTY: boolean) {
  const writes: string[] = [];
  const out = { isTTY, columns: 60, write: (text: string) => writes.push(text) > 0 };
  const notes: string[] = [];
  const err = { write: (text: string) => notes.push(text) > 0 };
  return {
    out: out as unknown as NodeJS.WriteStream,
    err: err as unknown as NodeJS.WritableStream,
    writes,
    notes,
  };
}

/** Answers the status polls in order (the last one repeats); an Error in the list is thrown once. */
function scripted(answers: Array<Rollout | Error>): Context['call'] {
  let i = 0;
  return async () => {
    const answer = answers[Math.min(i++, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return answer;
  };
}

const fast = { ...running, plan: { steps: [50, 100], intervalMs: 100 }, step: 0, percent: 50, decisions: [] };
const succeeded: Rollout = {
  ...fast,
  state: 'succeeded',
  step: 1,
  percent: 100,
  decisions: [{ at: iso(100), step: 1, outcome: 'advance', reason: 'all good' }],
};

describe('rollout status --watch', () => {
  const watch = (ctx: Context) => rollout.commands.status!.run(ctx, ['movies'], { watch: true });

  it('on a terminal, redraws the status in place until it ends', async () => {
    const { out, err, writes } = screen(true);
    const code = await watch({ call: scripted([fast, fast, succeeded]), json: false, out, err });
    expect(code).toBe(0);
    expect(writes).toHaveLength(3);
    expect(writes[0]).not.toContain('\x1b[');
    const firstHeight = writes[0]!.split('\n').length - 1;
    // Each redraw moves up over exactly what was drawn before and clears it.
    expect(writes[1]!.startsWith(`\x1b[${firstHeight}F\x1b[J`)).toBe(true);
    expect(writes[2]).toContain('movies: succeeded, step 2/2 at 100%');
    for (const write of writes) {
      for (const line of write.split('\n')) {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: matches the ANSI escapes the redraw writes
        expect(line.replace(/\x1b\[\d*[FJ]/g, '').length).toBeLessThanOrEqual(60);
      }
    }
  });

  it('rides out a gateway that is briefly unreachable or answers 503', async () => {
    const { out, err, writes, notes } = screen(false);
    const code = await watch({
      call: scripted([
        fast,
        new CliError('cannot reach the gateway', 3),
        new CliError('redis down (503)', 1, 503),
        succeeded,
      ]),
      json: false,
      out,
      err,
    });
    expect(code).toBe(0);
    expect(writes).toHaveLength(2);
    expect(notes).toEqual([
      'cannot reach the gateway; still watching\n',
      'redis down (503); still watching\n',
    ]);
  });

  it('stops at once on an error that waiting will not fix', async () => {
    const { out, err } = screen(false);
    const refusal = new CliError('the gateway refused the token (401: ...)', 1, 401);
    await expect(watch({ call: scripted([fast, refusal]), json: false, out, err })).rejects.toBe(refusal);
  });

  it('with --json, prints each changed status as one JSON line', async () => {
    const { out, err, writes } = screen(true);
    const rolledBack: Rollout = { ...fast, state: 'rolled-back', percent: 0 };
    const code = await watch({ call: scripted([fast, fast, rolledBack]), json: true, out, err });
    expect(code).toBe(1);
    expect(writes.map((line) => JSON.parse(line).state)).toEqual(['running', 'rolled-back']);
  });
});
