import { readFile, writeFile } from 'node:fs/promises';
import type { FlagView, HistoryEntry } from '@cinemaabyss/admin-contract';
import { flagPath, type Group, show, type Values } from './command.js';
import { brief, fields, parseBoolean, parseList, parsePercent, table } from './format.js';
import { CliError, usageError } from './http.js';

/** A flag as the admin API answers it; allow and deny may be missing from a gateway that predates them. */
type Flag = Omit<FlagView, 'allow' | 'deny' | 'routes'> & Partial<Pick<FlagView, 'allow' | 'deny'>>;

/** Body of PUT /admin/flags/:name from the options given; the gateway checks the values. */
export function flagChange(values: Values): Record<string, unknown> {
  const change: Record<string, unknown> = {};
  if (typeof values.percent === 'string') change.percent = parsePercent(values.percent, '--percent');
  if (typeof values.enabled === 'string') change.enabled = parseBoolean(values.enabled, '--enabled');
  if (typeof values.allow === 'string') change.allow = parseList(values.allow);
  if (typeof values.deny === 'string') change.deny = parseList(values.deny);
  if (Object.keys(change).length === 0) throw usageError('give --percent, --enabled, --allow or --deny');
  return change;
}

/** `percent 0 → 25` for each field that changed. */
export function describeChange(old: Record<string, unknown> | null, now: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(old ?? {}), ...Object.keys(now)])];
  const changed = keys
    .filter((key) => brief(old?.[key]) !== brief(now[key]))
    .map((key) => (old ? `${key} ${brief(old[key])} → ${brief(now[key])}` : `${key} ${brief(now[key])}`));
  return changed.join(', ') || 'no change';
}

const flagRow = (flag: Flag) => [
  flag.name,
  String(flag.enabled),
  `${flag.percent}%`,
  `${flag.effectivePercent}%`,
  flag.allow ? String(flag.allow.length) : '-',
  flag.deny ? String(flag.deny.length) : '-',
  flag.source,
];

const flagFields = (flag: Flag) =>
  fields([
    ['name', flag.name],
    ['enabled', String(flag.enabled)],
    ['percent', `${flag.percent}%`],
    ['effective', `${flag.effectivePercent}% of requests go to the new side`],
    ['allow', flag.allow && (flag.allow.join(', ') || '(none)')],
    ['deny', flag.deny && (flag.deny.join(', ') || '(none)')],
    ['source', flag.source],
  ]);

export const flags: Group = {
  summary: 'read and change the migration flags',
  options: {
    percent: {
      type: 'string',
      value: 'N',
      description: 'share of traffic for the new side, 0-100 (25 or 25%)',
    },
    enabled: {
      type: 'string',
      value: 'true|false',
      description: 'false ends the migration: all traffic moves',
    },
    allow: { type: 'string', value: 'id,…', description: 'user ids always sent to the new side ("" clears)' },
    deny: { type: 'string', value: 'id,…', description: 'user ids never sent to the new side ("" clears)' },
  },
  commands: {
    list: {
      usage: 'list',
      summary: 'every flag with its percent',
      args: [0, 0],
      async run(ctx) {
        const data = (await ctx.call('GET', '/admin/flags')) as { redis: string; flags: Flag[] };
        show(ctx, data, () => {
          const rows = table(
            ['NAME', 'ENABLED', 'PERCENT', 'EFFECTIVE', 'ALLOW', 'DENY', 'SOURCE'],
            data.flags.map(flagRow),
          );
          return data.redis === 'connected' ? rows : `${rows}\n(redis ${data.redis}: values may be stale)`;
        });
        return 0;
      },
    },
    get: {
      usage: 'get NAME',
      summary: 'one flag',
      args: [1, 1],
      async run(ctx, [name]) {
        const flag = (await ctx.call('GET', flagPath(name!))) as Flag;
        show(ctx, flag, () => flagFields(flag));
        return 0;
      },
    },
    set: {
      usage: 'set NAME [--percent N] [--enabled true|false] [--allow id,…] [--deny id,…]',
      summary: 'change a flag (recorded in its history)',
      args: [1, 1],
      options: ['percent', 'enabled', 'allow', 'deny'],
      async run(ctx, [name], values) {
        const body = flagChange(values);
        const flag = (await ctx.call('PUT', flagPath(name!), body)) as Flag & { change: HistoryEntry };
        show(ctx, flag, () => `${flag.name}: ${describeChange(flag.change.old, flag.change.new)}`);
        return 0;
      },
    },
    history: {
      usage: 'history NAME',
      summary: 'who changed a flag, when, from what to what (newest first)',
      args: [1, 1],
      async run(ctx, [name]) {
        const data = (await ctx.call('GET', flagPath(name!, '/history'))) as { history: HistoryEntry[] };
        show(ctx, data, () =>
          data.history.length === 0
            ? `${name}: no changes recorded`
            : table(
                ['AT', 'BY', 'CHANGE'],
                data.history.map((entry) => [entry.at, entry.by, describeChange(entry.old, entry.new)]),
              ),
        );
        return 0;
      },
    },
    export: {
      usage: 'export [FILE]',
      summary: "every flag's runtime value as one JSON document (to FILE or stdout)",
      args: [0, 1],
      async run(ctx, [file]) {
        const document = await ctx.call('GET', '/admin/flags/export');
        const text = `${JSON.stringify(document, null, 2)}\n`;
        if (file === undefined) ctx.out.write(text);
        else {
          await writeFile(file, text).catch((error: Error) => {
            throw new CliError(`cannot write ${file}: ${error.message}`);
          });
          ctx.err.write(`wrote ${file}\n`);
        }
        return 0;
      },
    },
    import: {
      usage: 'import FILE',
      summary: 'replace the flags with an exported document (all or nothing)',
      args: [1, 1],
      async run(ctx, [file]) {
        const document = await readJson(file!);
        const result = await ctx.call('PUT', '/admin/flags/import', document);
        show(ctx, result ?? {}, () => `imported ${file}`);
        return 0;
      },
    },
  },
  examples: [
    'cinemaabyss flags list',
    'cinemaabyss flags set movies --percent 25',
    'cinemaabyss flags set movies --allow alice,bob --deny ""',
    'cinemaabyss flags history movies --json',
    'cinemaabyss flags export flags.json && cinemaabyss flags import flags.json',
  ],
};

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new CliError(`cannot read ${file}: ${error.message}`);
  });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not JSON: ${(error as Error).message}`);
  }
}
