import { usageError } from './http.js';

/** Columns padded to their widest cell, two spaces apart. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `key  value` lines, keys aligned; undefined values are left out. */
export function fields(entries: Array<[string, string | undefined]>): string {
  const shown = entries.filter((entry): entry is [string, string] => entry[1] !== undefined);
  const width = Math.max(...shown.map(([key]) => key.length));
  return shown.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n');
}

/** Any JSON value in a short readable form, for cells and history entries. */
export function brief(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) {
    const shown = value.slice(0, 5).map(brief).join(',');
    return value.length > 5 ? `[${shown},… ${value.length} in all]` : `[${shown}]`;
  }
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// ---- human values on the command line ----

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `90s`, `5m`, `1m30s`, `500ms`, `1.5s` → milliseconds. A bare number is refused: its unit would be a guess. */
export function parseDuration(text: string, option: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text)
    throw usageError(`${option}: "${text}" is not a duration; write it like 500ms, 90s, 5m or 1m30s`);
  return Math.round(parts.reduce((sum, [, n, unit]) => sum + Number(n) * DURATION_UNITS[unit!]!, 0));
}

/** Milliseconds → `250ms`, `42s`, `1m30s`, `2h5m`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.round(ms / 1_000);
  if (s < 60) return `${s}s`;
  const [h, m, rest] = [Math.floor(s / 3_600), Math.floor((s % 3_600) / 60), s % 60];
  return h > 0 ? `${h}h${m > 0 ? `${m}m` : ''}` : `${m}m${rest > 0 ? `${rest}s` : ''}`;
}

/**
 * A rate written as a percentage (`1%`, `0.5%`) → a fraction (0.01, 0.005), as the API takes it. The
 * sign is required: a bare `1` could mean 1 % or 100 %.
 */
export function parseRate(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (!match) throw usageError(`${option}: "${text}" is not a percentage; write it like 1% or 0.5%`);
  // Shifting the decimal point in the string keeps 1.1% exactly 0.011 (1.1 / 100 is not).
  return Number(`${match[1]}e-2`);
}

/** A flag's traffic share, `25` or `25%` → 25. Only the form is checked here; the gateway judges the range. */
export function parsePercent(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(text);
  if (!match) throw usageError(`${option}: "${text}" is not a percentage; write it like 25 or 25%`);
  return Number(match[1]);
}

/** A ratio, `1.5` or `1.5x` → 1.5. */
export function parseRatio(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)x?$/.exec(text);
  if (!match) throw usageError(`${option}: "${text}" is not a ratio; write it like 1.5 or 1.5x`);
  return Number(match[1]);
}

/** A count, `200` → 200. */
export function parseCount(text: string, option: string): number {
  if (!/^\d+$/.test(text)) throw usageError(`${option}: "${text}" is not a whole number`);
  return Number(text);
}

/** `a,b,c` → ['a','b','c']; an empty string is the empty list (to clear one). */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function parseBoolean(text: string, option: string): boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  throw usageError(`${option}: "${text}" must be true or false`);
}

/** A fraction → `2.4%` (at most two decimals, no trailing zeros). */
export const formatRate = (fraction: number) => `${Number((fraction * 100).toFixed(2))}%`;

/** A fixed-width bar, e.g. `[########------------]`, for `done` out of 1. */
export function progressBar(done: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, done)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}
