import { setTimeout as sleep } from 'node:timers/promises';
import type { DecisionEntry, RolloutView } from '@cinemaabyss/admin-contract';
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

/** An entry of the rollout's decisions; its numbers are printed as they came, whatever they hold. */
type Decision = Pick<DecisionEntry, 'at' | 'step' | 'outcome' | 'reason'> & { numbers?: unknown };

/** GET /admin/flags/:name/rollout, the parts the CLI reads (docs/gateway.md, "Progressive rollout"). */
export type Rollout = Pick<RolloutView, 'state' | 'step' | 'percent' | 'startedAt' | 'nextDecisionAt'> & {
  plan: Pick<RolloutView['plan'], 'steps' | 'intervalMs'>;
  /** Newest first. */
  decisions: Decision[];
};

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
    ['max-data-lag', 'maxDataLagMs', parseDuration],
  ] as const;
  for (const [option, field, parse] of optional) {
    const text = values[option];
    if (typeof text === 'string') plan[field] = parse(text, `--${option}`);
  }
  return plan;
}

const FINAL: Record<string, number> = { succeeded: 0, 'rolled-back': 1, aborted: 1 };
const clock = (iso: string | undefined) => (iso ? new Date(iso).toTimeString().slice(0, 8) : '--:--:--');

/**
 * `new.errorRate=0.024 new.n=1204 ...`: the numbers behind a decision, flattened. Fractions keep four
 * significant digits: a p99 is a histogram bucket's bound such as 181.01933598375615 ms.
 */
export function flatten(value: unknown, prefix = ''): string[] {
  if (typeof value === 'number' && !Number.isInteger(value))
    return prefix ? [`${prefix}=${Number(value.toPrecision(4))}`] : [];
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return prefix ? [`${prefix}=${brief(value)}`] : [];
  return Object.entries(value).flatMap(([key, inner]) => flatten(inner, prefix ? `${prefix}.${key}` : key));
}

/** Milliseconds until the next decision, or undefined when none is coming. */
export function untilNextDecision(r: Rollout, now: number): number | undefined {
  return r.state === 'running' ? Math.max(0, Date.parse(r.nextDecisionAt) - now) : undefined;
}

/** The status as a few lines: state and step, the bar over the plan, the last decision, the next one. */
export function describeRollout(name: string, r: Rollout, now: number): string {
  const { steps } = r.plan;
  const plan = steps.map((p, i) => (i === r.step && r.state !== 'rolled-back' ? `[${p}%]` : `${p}%`));
  const last = r.decisions[0];
  const next = untilNextDecision(r, now);
  const holds = r.decisions.filter((d) => d.outcome === 'hold').length;
  return fields([
    ['rollout', `${name}: ${r.state}, step ${r.step + 1}/${steps.length} at ${r.percent}%`],
    ['plan', `${progressBar(r.percent / 100)} ${plan.join(' → ')}`],
    ['last', last && `${clock(last.at)} step ${last.step + 1} ${last.outcome}: ${last.reason}`],
    ['numbers', last?.numbers === undefined ? undefined : flatten(last.numbers).join(' ')],
    ['next', next === undefined ? undefined : `decision in ${formatDuration(next)}`],
    ['holds', holds > 0 ? `${holds} of ${r.decisions.length} decisions` : undefined],
  ]);
}

/** One line per change, for logs and pipelines. */
function changeLine(name: string, r: Rollout): string {
  const last = r.decisions[0];
  const head = `${clock(last?.at)} ${name} ${r.state} step ${r.step + 1}/${r.plan.steps.length} ${r.percent}%`;
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
    await sleep(last ? Math.min(1_000, Math.max(100, last.plan.intervalMs / 4)) : 1_000);
  }
}

const action = (verb: 'pause' | 'resume' | 'promote' | 'abort', summary: string) => ({
  usage: `${verb} NAME`,
  summary,
  args: [1, 1] as [number, number],
  async run(ctx: Context, [name]: string[]) {
    const r = (await ctx.call('POST', flagPath(name!, `/rollout/${verb}`))) as Rollout;
    show(ctx, r, () => describeRollout(name!, r, Date.now()));
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
    'max-data-lag': {
      type: 'string',
      value: 'DURATION',
      description: 'hold above this replication lag (a flag with a data domain only; 5s)',
    },
    watch: { type: 'boolean', description: 'follow until the end: exit 0 succeeded, 1 rolled back/aborted' },
  },
  commands: {
    start: {
      usage:
        'start NAME --steps 5,25,50,100 --interval 60s [--min-requests N] [--max-error-increase 1%] [--max-latency-ratio 1.5] [--latency-floor 50ms] [--max-mismatch 1%] [--max-data-lag 5s]',
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
        'max-data-lag',
      ],
      async run(ctx, [name], values) {
        const r = (await ctx.call('POST', flagPath(name!, '/rollout'), rolloutPlan(values))) as Rollout;
        show(ctx, r, () => describeRollout(name!, r, Date.now()));
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
    pause: action('pause', 'stop deciding; the percent stays'),
    resume: action('resume', 'decide again'),
    promote: action('promote', 'go to the next step now'),
    abort: action('abort', 'end the rollout and set the percent to 0'),
  },
  examples: [
    'cinemaabyss rollout start movies --steps 5,25,50,100 --interval 5m --max-error-increase 1%',
    'cinemaabyss rollout status movies --watch && echo "movies fully migrated"',
    'cinemaabyss rollout pause movies',
  ],
};
