import { setTimeout as sleep } from 'node:timers/promises';
import type { Answer } from '@cinemaabyss/admin-contract';
import { type Context, type Group, show } from './command.js';
import { fields, formatDuration } from './format.js';
import { CliError } from './http.js';

export type DataStatus = Answer<'GET /admin/data/:domain'>;
export type VerifyRequest = Answer<'POST /admin/data/:domain/verify'>;

/** A domain name as one path segment. */
export const dataPath = (domain: string, rest = '') => `/admin/data/${encodeURIComponent(domain)}${rest}`;

/** The document's text comes from another process: control characters never reach the terminal. */
const printable = (text: string) =>
  Array.from(text, (char) => {
    const code = char.codePointAt(0)!;
    return code < 0x20 || (code >= 0x7f && code < 0xa0) ? '?' : char;
  }).join('');

/** 1048576 → `1.0 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

const clock = (iso: string) => new Date(iso).toISOString().slice(11, 19);
const ms = (value: number | null) => (value === null ? 'not measured' : formatDuration(value));

/** The status as `key  value` lines: where the data goes, the connector, lag, WAL, the last parity pass. */
export function describeData(s: DataStatus, now: number): string {
  const { parity } = s;
  const tables = s.source.tables.map(printable).join(', ');
  const counts =
    parity.rows === null
      ? undefined
      : `${parity.mismatched} mismatched, ${parity.missing} missing, ${parity.extra} extra of ${parity.rows} rows`;
  const checked =
    parity.checkedAt === null
      ? 'no pass has finished yet'
      : `checked ${clock(parity.checkedAt)} UTC (${formatDuration(now - Date.parse(parity.checkedAt))} ago)`;
  return fields([
    ['domain', `${printable(s.domain)} (writes: ${s.writes})`],
    [
      'copy',
      `${printable(s.source.database)} (${tables}) → ${printable(s.target.database)}.${printable(s.target.table)}`,
    ],
    ['connector', `${printable(s.connector.name)} ${s.connector.state}`],
    ['lag', `${ms(s.lagMs)} (p99 ${ms(s.lagP99Ms)})`],
    [
      'wal',
      s.retainedWalBytes === null ? 'no replication slot' : `${formatBytes(s.retainedWalBytes)} retained`,
    ],
    ['parity', [parity.state, counts, checked].filter(Boolean).join('; ')],
    ['sample', parity.sampleIds.length > 0 ? parity.sampleIds.join(', ') : undefined],
    ['updated', `${clock(s.updatedAt)} UTC`],
  ]);
}

/** One line per change, for logs and pipelines. */
function changeLine(s: DataStatus): string {
  const { parity } = s;
  return (
    `${clock(s.updatedAt)} ${printable(s.domain)} connector=${s.connector.state} lag=${ms(s.lagMs)} ` +
    `p99=${ms(s.lagP99Ms)} parity=${parity.state} mismatched=${parity.mismatched ?? '-'}`
  );
}

// How long `--watch` rides out an unreachable gateway or a 503 (Redis down) before giving up.
const WATCH_PATIENCE_MS = 60_000;
/** The sync process rewrites the document every second. */
const WATCH_EVERY_MS = 1_000;

/**
 * Polls the status until interrupted. On a terminal it redraws in place; otherwise (or with --json) it
 * prints one line per change. A 404 ends it with 1: the status went away (no sync process for 30 s).
 */
export async function watchData(
  ctx: Context,
  domain: string,
  { signal, everyMs = WATCH_EVERY_MS }: { signal?: AbortSignal; everyMs?: number } = {},
): Promise<number> {
  const redraw = ctx.out.isTTY === true && !ctx.json;
  let drawn = 0;
  let lastKey = '';
  let last: DataStatus | undefined;
  let failingSince: number | undefined;
  while (!signal?.aborted) {
    let trouble: string | undefined;
    try {
      last = (await ctx.call('GET', dataPath(domain))) as DataStatus;
      failingSince = undefined;
    } catch (error) {
      const transient = error instanceof CliError && (error.exitCode === 3 || error.status === 503);
      failingSince ??= Date.now();
      if (!transient || Date.now() - failingSince > WATCH_PATIENCE_MS) throw error;
      trouble = `${error.message}; still watching`;
    }
    if (redraw && last) {
      const text = describeData(last, Date.now()) + (trouble ? `\ngateway    ${trouble}` : '');
      const lines = text.split('\n').map((line) => line.slice(0, ctx.out.columns || 200));
      ctx.out.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${lines.join('\n')}\n`);
      drawn = lines.length;
    } else if (trouble) {
      ctx.err.write(`${trouble}\n`);
    } else if (last) {
      // updatedAt changes every second: a change is what an operator acts on.
      const key = JSON.stringify({ ...last, updatedAt: undefined });
      if (key !== lastKey) ctx.out.write(`${ctx.json ? JSON.stringify(last) : changeLine(last)}\n`);
      lastKey = key;
    }
    await sleep(everyMs, undefined, { signal }).catch(() => {});
  }
  return 0;
}

export const data: Group = {
  summary: "the movies service's own data: replication lag, parity with the monolith, the connector",
  options: {
    watch: { type: 'boolean', description: 'redraw every second until interrupted (Ctrl-C)' },
  },
  commands: {
    status: {
      usage: 'status DOMAIN [--watch]',
      summary: 'lag, lag p99, retained WAL, the last parity pass and the connector',
      args: [1, 1],
      options: ['watch'],
      async run(ctx, [domain], values) {
        if (values.watch) return watchData(ctx, domain!);
        const s = (await ctx.call('GET', dataPath(domain!))) as DataStatus;
        show(ctx, s, () => describeData(s, Date.now()));
        return 0;
      },
    },
    verify: {
      usage: 'verify DOMAIN',
      summary: 'ask the sync process for a full parity pass now; its result comes in `data status`',
      args: [1, 1],
      async run(ctx, [domain]) {
        const r = (await ctx.call('POST', dataPath(domain!, '/verify'))) as VerifyRequest;
        show(ctx, r, () =>
          r.receivers > 0
            ? `parity pass requested for ${printable(r.domain)} at ${clock(r.requestedAt)} UTC; ` +
              `\`cinemaabyss data status ${printable(r.domain)}\` shows its result (parity checked)`
            : `no sync process of ${printable(r.domain)} is listening: no pass will start; is movies-sync running?`,
        );
        // Nobody heard it: for a script, the pass it asked for will not happen.
        return r.receivers > 0 ? 0 : 1;
      },
    },
  },
  examples: ['cinemaabyss data status movies --watch', 'cinemaabyss data verify movies'],
};
