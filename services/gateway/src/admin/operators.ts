import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import { type Operator, ROLES, type Role } from '@cinemaabyss/admin-contract';
import { ConfigError, issuePath } from '@cinemaabyss/service-kit';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { MetricFamily } from '../telemetry/exposition.js';

/** Who is calling the admin API, from the bearer token alone. */
export { type Operator, ROLES, type Role };

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller of an admin route, set once its token is known (undefined elsewhere). */
    operator: Operator | undefined;
  }
}

export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** Operators by the sha256 (hex) of their token: the gateway never holds the tokens of a file. */
export type OperatorTable = ReadonlyMap<string, Operator>;

/** `ADMIN_TOKEN` is the operator `admin`. */
export const ADMIN = { name: 'admin', role: 'operator' } as const satisfies Operator;

/**
 * The operator a bearer token belongs to. The lookup is by the token's digest, so its timing depends
 * only on a hash of what the caller sent, never on how much of a real token it guessed.
 */
export const identify = (table: OperatorTable, token: string): Operator | undefined =>
  table.get(sha256Hex(token));

/** Who made a change, for the history and the rollout decisions: the token's operator and the client IP. */
export function operatorOf(request: FastifyRequest): string {
  return `${request.operator!.name} (${request.ip})`;
}

/** ADMIN_TOKENS_FILE: `{"operators":[{"name","role","tokenSha256"}]}`, hashes only. */
const fileSchema = z.strictObject({
  operators: z.array(
    z.strictObject({
      name: z.string().regex(/^[a-z0-9._-]{1,64}$/, 'must be 1 to 64 characters of a-z, 0-9, ".", "_", "-"'),
      role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
      tokenSha256: z
        .string({ error: 'must be 64 hex characters' })
        .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters')
        .transform((hex) => hex.toLowerCase()),
    }),
    { error: 'must be a list of operators' },
  ),
});

/**
 * The table of a file's text (plus `admin` for ADMIN_TOKEN). Throws a ConfigError naming the file and
 * the entry: `ADMIN_TOKENS_FILE /x.json: operators[1].tokenSha256: must be 64 hex characters`.
 */
export function parseOperators(file: string, text: string, adminToken?: string): Map<string, Operator> {
  const refuse = (problems: string[]) => new ConfigError(`ADMIN_TOKENS_FILE ${file}: ${problems.join('; ')}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw refuse([`not valid JSON (${(error as Error).message})`]);
  }
  const result = fileSchema.safeParse(raw);
  if (!result.success)
    throw refuse(result.error.issues.map((issue) => `${issuePath(issue.path)}: ${issue.message}`));

  const table = new Map<string, Operator>();
  const names = new Map<string, string>();
  const problems: string[] = [];
  if (adminToken) {
    table.set(sha256Hex(adminToken), ADMIN);
    names.set(ADMIN.name, 'ADMIN_TOKEN');
  }
  result.data.operators.forEach(({ name, role, tokenSha256 }, i) => {
    const entry = `operators[${i}]`;
    const named = names.get(name);
    const holder = table.get(tokenSha256);
    if (named) problems.push(`${entry}.name: "${name}" is already the name of ${named}`);
    else if (holder) problems.push(`${entry}.tokenSha256: is also the token of "${holder.name}"`);
    names.set(name, entry);
    table.set(tokenSha256, { name, role });
  });
  if (problems.length > 0) throw refuse(problems);
  return table;
}

/** The operators of ADMIN_TOKEN and ADMIN_TOKENS_FILE, re-read when the file changes. */
export interface Operators {
  /** The table in force; swapped whole when a changed file is valid. */
  table(): OperatorTable;
  metricFamilies(): MetricFamily[];
  close(): void;
}

interface OperatorsConfig {
  ADMIN_TOKEN?: string | undefined;
  ADMIN_TOKENS_FILE?: string | undefined;
  ADMIN_TOKENS_POLL_MS: number;
}

/**
 * Reads the operators at start-up (a bad file throws its ConfigError: the gateway does not start) and
 * undefined when there are none configured (no admin API). A file is watched, and polled as a fallback:
 * a valid change replaces the table, a bad one is logged and the table in force stays.
 */
export function loadOperators(config: OperatorsConfig, log: FastifyBaseLogger): Operators | undefined {
  const file = config.ADMIN_TOKENS_FILE;
  if (!file) {
    if (!config.ADMIN_TOKEN) return undefined;
    const table = new Map([[sha256Hex(config.ADMIN_TOKEN), ADMIN]]);
    return { table: () => table, metricFamilies: () => [], close: () => {} };
  }
  const read = () => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`ADMIN_TOKENS_FILE ${file}: cannot read it (${(error as Error).message})`);
    }
  };
  let seen = read();
  let table: OperatorTable = parseOperators(file, seen, config.ADMIN_TOKEN);
  let version = sha256Hex(seen).slice(0, 12);
  let refused = 0;
  log.info({ file, version, operators: table.size }, 'admin operators loaded');

  // What the last reload saw (the file's text or why it could not be read): polls mostly see it again,
  // and a refusal is reported once.
  const refuse = (what: string, problem: string) => {
    if (what === seen) return;
    seen = what;
    refused++;
    log.error({ file, version }, `${problem}; the operators of version ${version} stay in force`);
  };
  const reload = () => {
    let text: string;
    try {
      text = read();
    } catch (error) {
      return refuse((error as Error).message, (error as Error).message);
    }
    if (text === seen) return;
    try {
      table = parseOperators(file, text, config.ADMIN_TOKEN);
    } catch (error) {
      return refuse(text, (error as Error).message);
    }
    seen = text;
    version = sha256Hex(text).slice(0, 12);
    log.info({ file, version, operators: table.size }, 'admin operators reloaded');
  };

  // The directory, not the file: Kubernetes updates a mounted Secret by swapping a symlink next to it.
  // Events come in bursts (truncate, write); the file is read once they have settled.
  let settle: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), () => {
      clearTimeout(settle);
      settle = setTimeout(reload, 50).unref();
    }).unref();
    watcher.on('error', (error) => log.warn({ err: error, file }, 'admin operators: watch failed; polling'));
  } catch (error) {
    log.warn({ err: error, file }, 'admin operators: cannot watch the directory; polling only');
  }
  const poll = setInterval(reload, config.ADMIN_TOKENS_POLL_MS).unref();

  return {
    table: () => table,
    metricFamilies: () => [
      {
        name: 'gateway_admin_operators',
        help: 'Operators in force, by the version (sha256 prefix) of ADMIN_TOKENS_FILE',
        type: 'gauge',
        samples: [{ labels: { version }, value: table.size }],
      },
      {
        name: 'gateway_admin_operators_refused_total',
        help: 'Changed operator files refused (the previous table stayed)',
        type: 'counter',
        samples: [{ value: refused }],
      },
    ],
    close: () => {
      clearInterval(poll);
      clearTimeout(settle);
      watcher?.close();
    },
  };
}
