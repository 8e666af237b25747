import type { Client } from './http.js';

export interface Context {
  call: Client;
  json: boolean;
  out: NodeJS.WriteStream;
  /** Notes beside the output (e.g. `wrote FILE`), so stdout stays what scripts read. */
  err: NodeJS.WritableStream;
}

export type Values = Record<string, string | boolean | undefined>;

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Placeholder shown in the help, e.g. `N` in `--percent N`. */
  value?: string;
  description: string;
}

export interface Command {
  /** e.g. `set NAME --percent N [--enabled true|false]`. */
  usage: string;
  summary: string;
  /** Fewest and most positional arguments after the command's name. */
  args: [number, number];
  /** Names of the group's options this command takes. */
  options?: string[];
  /** Resolves to the exit code (0 when omitted). */
  run(ctx: Context, args: string[], values: Values): Promise<number | undefined>;
}

export interface Group {
  summary: string;
  commands: Record<string, Command>;
  options: Record<string, OptionSpec>;
  examples: string[];
}

/** Prints `--json` output or the human form. */
export function show(ctx: Context, data: unknown, human: () => string): void {
  ctx.out.write(`${ctx.json ? JSON.stringify(data, null, 2) : human()}\n`);
}

/** A flag name as one path segment. */
export const flagPath = (name: string, rest = '') => `/admin/flags/${encodeURIComponent(name)}${rest}`;
