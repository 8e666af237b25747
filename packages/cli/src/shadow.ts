import type { Answer, Body } from '@cinemaabyss/admin-contract';
import { flagPath, type Group, show, type Values } from './command.js';
import { fields, formatRate, parseList, parsePercent, table } from './format.js';
import { usageError } from './http.js';

/** GET /admin/flags/:name/shadow, the parts shown in words (the samples go to --json as they came). */
type ShadowReport = Omit<Answer<'GET /admin/flags/:name/shadow'>, 'name' | 'from' | 'probes' | 'samples'> & {
  samples: unknown[];
};

/** Body of PUT /admin/flags/:name/shadow; the gateway checks the values. */
export function shadowSettings(values: Values): Body<'PUT /admin/flags/:name/shadow'> {
  if (typeof values.percent !== 'string') throw usageError('shadow set needs --percent N');
  const settings: Body<'PUT /admin/flags/:name/shadow'> = {
    percent: parsePercent(values.percent, '--percent'),
  };
  if (typeof values.ignore === 'string') settings.ignore = parseList(values.ignore);
  return settings;
}

export function describeReport(name: string, report: ShadowReport): string {
  const summary = fields([
    ['flag', name],
    ['shadowing', report.percent === 0 ? 'off' : `${report.percent}% of GET and HEAD requests`],
    ['ignoring', report.ignore.join(', ') || '(nothing)'],
    ['since', report.since ?? 'never set'],
    ['compared', String(report.compared)],
    ['matched', String(report.matched)],
    [
      'mismatched',
      report.mismatchRate === null
        ? `${report.mismatched} (nothing compared yet)`
        : `${report.mismatched} (${formatRate(report.mismatchRate)}, noise and ignored paths left out)`,
    ],
    ['errors', `${report.errors} (the shadow side failed or timed out)`],
    ['dropped', `${report.dropped} (too many in flight)`],
    ['skipped', `${report.skipped} (body too large to compare)`],
  ]);
  const paths =
    report.paths.length === 0
      ? ''
      : `\n\n${table(
          ['PATH', 'MISMATCHES', 'DIFFERED', 'NOISE', 'EXCLUDED'],
          report.paths.map((p) => [
            p.path,
            String(p.mismatches),
            String(p.differed),
            String(p.noise),
            p.excluded ?? '-',
          ]),
        )}`;
  const count = report.samples.length;
  const samples = count === 0 ? '' : `\n\n${count} sample${count === 1 ? '' : 's'} of mismatches: see --json`;
  return summary + paths + samples;
}

export const shadow: Group = {
  summary: 'compare the new side with the old one on copies of real reads',
  options: {
    percent: {
      type: 'string',
      value: 'N',
      description: 'share of GET/HEAD requests shadowed, 0-100 (0 = off)',
    },
    ignore: { type: 'string', value: 'path,…', description: 'JSON paths left out of the comparison' },
  },
  commands: {
    set: {
      usage: 'set NAME --percent N [--ignore path,…]',
      summary: 'turn shadowing on, change it or turn it off (--percent 0)',
      args: [1, 1],
      options: ['percent', 'ignore'],
      async run(ctx, [name], values) {
        const settings = shadowSettings(values);
        const result = await ctx.call('PUT', flagPath(name!, '/shadow'), settings);
        show(ctx, result ?? settings, () =>
          settings.percent === 0
            ? `${name}: shadowing off`
            : `${name}: shadowing ${settings.percent}% of reads${settings.ignore?.length ? `, ignoring ${settings.ignore.join(', ')}` : ''}`,
        );
        return 0;
      },
    },
    report: {
      usage: 'report NAME',
      summary: 'what the comparison found: rates, differing paths, samples',
      args: [1, 1],
      async run(ctx, [name]) {
        const report = (await ctx.call('GET', flagPath(name!, '/shadow'))) as ShadowReport;
        show(ctx, report, () => describeReport(name!, report));
        return 0;
      },
    },
    reset: {
      usage: 'reset NAME',
      summary: 'start a new report',
      args: [1, 1],
      async run(ctx, [name]) {
        const result = await ctx.call('POST', flagPath(name!, '/shadow/reset'));
        show(ctx, result ?? {}, () => `${name}: shadow report reset`);
        return 0;
      },
    },
  },
  examples: [
    "cinemaabyss shadow set movies --percent 10 --ignore '$.served_at,$.etag'",
    'cinemaabyss shadow report movies',
    'cinemaabyss shadow reset movies',
  ],
};
