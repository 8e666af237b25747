import { setTimeout as sleep } from 'node:timers/promises';
import { type Context, flagPath, type Group, show, type Values } from './command.js';
import {
  brief,
  fields,
  formatDuration,
  parseCount,
  parseDuration,
  parseList,
  parsePercent,
  parseRate,
  parseRatio,
  progressBar,
} from './format.js';
import { CliError, usageError } from './http.js';

type State = 'running' | 'paused' | 'succeeded' | 'rolled-back' | 'aborted';

interface Decision {
  at?: string;
  time?: string;
  step: number;
  outcome: 'advance' | 'hold' | 'rollback';
  reason: string;
  numbers?: unknown;
}

export interface Rollout {
  state: State;
  step: number;
  percent: number;
  plan?: { steps?: number[]; intervalMs?: number };
  steps?: number[];
  intervalMs?: number;
  startedAt: string;
  nextDecisionAt?: string;
  decisions: Decision[];
}

/** Body of POST /admin/flags/:name/rollout; only the forms are checked here, the gateway judges the plan. */
export function rolloutPlan(values: Values): Record<string, number | number[]> {
  if (typeof values.steps !== 'string' || typeof values.interval !== 'string')
    throw usageError('rollout start needs --steps and --interval');
  const plan: Record<string, number | number[]> = {
    steps: parseList(values.steps).map((step) => parsePercent(step, '--steps')),
    intervalMs: parseDuration(values.interval, '--interval'),
  };
  const optional = [
    ['min-requests', 'minRequests', parseCount],
    ['max-error-increase', 'maxErrorRateIncrease', parseRate],
    ['max-latency-ratio', 'maxLatencyRatio', parseRatio],
    ['latency-floor', 'latencyFloorMs', parseDuration],
    ['max-mismatch', 'maxMismatchRate', parseRate],
  ] as const;
  for (const [option, field, parse] of optional) {
    const text = values[option];
    if (typeof text === 'string') plan[field] = parse(text, `--${option}`);
  }
  return plan;
}

const FINAL: Record<string, number> = { succeeded: 0, 'rolled-back': 1, aborted: 1 };
// The rollout issue names "the plan" and each decision's "time" without fixing their fields: both
// readings (plan object or top-level steps, `at` or `time`) are accepted until the gateway's answer lands.
const stepsOf = (r: Rollout) => r.plan?.steps ?? r.steps ?? [];
const intervalOf = (r: Rollout) => r.plan?.intervalMs ?? r.intervalMs;
const timeOf = (d: Decision) => d.at ?? d.time;
const clock = (iso: string | undefined) => (iso ? new Date(iso).toTimeString().slice(0, 8) : '--:--:--');

/** `new.errorRate=0.024 new.n=1204 ...`: the numbers behind a decision, flattened. */
export function flatten(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return prefix ? [`${prefix}=${brief(value)}`] : [];
  return Object.entries(value).flatMap(([key, inner]) => flatten(inner, prefix ? `${prefix}.${key}` : key));
}

/** Milliseconds until the next decision, or undefined when none is coming. */
export function untilNextDecision(r: Rollout, now: number): number | undefined {
  if (r.state !== 'running') return undefined;
  if (r.nextDecisionAt) return Math.max(0, Date.parse(r.nextDecisionAt) - now);
  const interval = intervalOf(r);
  const last = r.decisions[0] ? timeOf(r.decisions[0]) : r.startedAt;
  if (interval === undefined || last === undefined) return undefined;
  return Math.max(0, Date.parse(last) + interval - now);
}

/** The status as a few lines: state and step, the bar over the plan, the last decision, the next one. */
export function describeRollout(name: string, r: Rollout, now: number): string {
  const steps = stepsOf(r);
  const plan = steps.map((p, i) => (i === r.step && r.state !== 'rolled-back' ? `[${p}%]` : `${p}%`));
  const last = r.decisions[0];
  const next = untilNextDecision(r, now);
  const holds = r.decisions.filter((d) => d.outcome === 'hold').length;
  return fields([
    ['rollout', `${name}: ${r.state}, step ${r.step + 1}/${steps.length || '?'} at ${r.percent}%`],
    ['plan', `${progressBar(r.percent / 100)} ${plan.join(' → ')}`],
    ['last', last && `${clock(timeOf(last))} step ${last.step + 1} ${last.outcome}: ${last.reason}`],
    ['numbers', last?.numbers === undefined ? undefined : flatten(last.numbers).join(' ')],
    ['next', next === undefined ? undefined : `decision in ${formatDuration(next)}`],
    ['holds', holds > 0 ? `${holds} of ${r.decisions.length} decisions` : undefined],
  ]);
}

/** One line per change, for logs and pipelines. */
function changeLine(name: string, r: Rollout): string {
  const last = r.decisions[0];
  const head = `${clock(last && timeOf(last))} ${name} ${r.state} step ${r.step + 1}/${stepsOf(r).length} ${r.percent}%`;
  return last ? `${head} | ${last.outcome}: ${last.reason}` : head;
}

// How long `--watch` rides out an unreachable gateway or a 503 (Redis down) before giving up.
const WATCH_PATIENCE_MS = 60_000;

/**
 * Polls the status until the rollout ends: 0 on `succeeded`, 1 on `rolled-back` or `aborted`. On a
 * terminal it redraws in place; otherwise (or with --json) it prints one line per change.
 */
async function watch(ctx: Context, name: string): Promise<number> {
  const redraw = ctx.out.isTTY === true && !ctx.json;
  let drawn = 0;
  let lastKey = '';
  let last: Rollout | undefined;
  let failingSince: number | undefined;
  for (;;) {
    let trouble: string | undefined;
    try {
      last = (await ctx.call('GET', flagPath(name, '/rollout'))) as Rollout;
      failingSince = undefined;
    } catch (error) {
      const transient = error instanceof CliError && (error.exitCode === 3 || error.status === 503);
      failingSince ??= Date.now();
      if (!transient || Date.now() - failingSince > WATCH_PATIENCE_MS) throw error;
      trouble = `${error.message}; still watching`;
    }
    if (redraw && last) {
      const text = describeRollout(name, last, Date.now()) + (trouble ? `\ngateway  ${trouble}` : '');
      const lines = text.split('\n').map((line) => line.slice(0, ctx.out.columns || 200));
      ctx.out.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${lines.join('\n')}\n`);
      drawn = lines.length;
    } else if (trouble) {
      ctx.err.write(`${trouble}\n`);
    } else if (last) {
      const key = JSON.stringify([last.state, last.step, last.percent, last.decisions.length]);
      if (key !== lastKey) ctx.out.write(`${ctx.json ? JSON.stringify(last) : changeLine(name, last)}\n`);
      lastKey = key;
    }
    const final = last && !trouble ? FINAL[last.state] : undefined;
    if (final !== undefined) return final;
    const interval = last && intervalOf(last);
    await sleep(interval === undefined ? 1_000 : Math.min(1_000, Math.max(100, interval / 4)));
  }
}

/** Shows the rollout when the gateway answered with it, else a confirmation line. */
function showResult(ctx: Context, name: string, result: unknown, done: string) {
  const rollout = result as Rollout | undefined;
  show(ctx, result ?? {}, () =>
    typeof rollout?.state === 'string' ? describeRollout(name, rollout, Date.now()) : `${name}: ${done}`,
  );
}

const action = (verb: 'pause' | 'resume' | 'promote' | 'abort', summary: string, done: string) => ({
  usage: `${verb} NAME`,
  summary,
  args: [1, 1] as [number, number],
  async run(ctx: Context, [name]: string[]) {
    showResult(ctx, name!, await ctx.call('POST', flagPath(name!, `/rollout/${verb}`)), done);
    return 0;
  },
});

export const rollout: Group = {
  summary: 'let the gateway step a flag up by itself, judged on its own numbers',
  options: {
    steps: { type: 'string', value: '5,25,50,…,100', description: 'the percent at each step, ending at 100' },
    interval: { type: 'string', value: 'DURATION', description: 'time between decisions (60s, 5m)' },
    'min-requests': { type: 'string', value: 'N', description: 'hold while either side saw fewer requests' },
    'max-error-increase': { type: 'string', value: 'PCT', description: 'roll back above this, e.g. 1%' },
    'max-latency-ratio': { type: 'string', value: 'X', description: 'roll back when new p99 > X × old p99' },
    'latency-floor': {
      type: 'string',
      value: 'DURATION',
      description: 'p99 below this never rolls back (50ms)',
    },
    'max-mismatch': {
      type: 'string',
      value: 'PCT',
      description: 'roll back above this shadow mismatch rate',
    },
    watch: { type: 'boolean', description: 'follow until the end: exit 0 succeeded, 1 rolled back/aborted' },
  },
  commands: {
    start: {
      usage:
        'start NAME --steps 5,25,50,100 --interval 60s [--min-requests N] [--max-error-increase 1%] [--max-latency-ratio 1.5] [--latency-floor 50ms] [--max-mismatch 1%]',
      summary: 'start a rollout; the flag goes to the first step now',
      args: [1, 1],
      options: [
        'steps',
        'interval',
        'min-requests',
        'max-error-increase',
        'max-latency-ratio',
        'latency-floor',
        'max-mismatch',
      ],
      async run(ctx, [name], values) {
        const plan = rolloutPlan(values);
        showResult(ctx, name!, await ctx.call('POST', flagPath(name!, '/rollout'), plan), 'rollout started');
        return 0;
      },
    },
    status: {
      usage: 'status NAME [--watch]',
      summary: 'state, step, last decision and the time to the next one',
      args: [1, 1],
      options: ['watch'],
      async run(ctx, [name], values) {
        if (values.watch) return watch(ctx, name!);
        const r = (await ctx.call('GET', flagPath(name!, '/rollout'))) as Rollout;
        show(ctx, r, () => describeRollout(name!, r, Date.now()));
        return 0;
      },
    },
    pause: action('pause', 'stop deciding; the percent stays', 'paused'),
    resume: action('resume', 'decide again', 'resumed'),
    promote: action('promote', 'go to the next step now', 'promoted'),
    abort: action('abort', 'end the rollout and set the percent to 0', 'aborted'),
  },
  examples: [
    'cinemaabyss rollout start movies --steps 5,25,50,100 --interval 5m --max-error-increase 1%',
    'cinemaabyss rollout status movies --watch && echo "movies fully migrated"',
    'cinemaabyss rollout pause movies',
  ],
};
