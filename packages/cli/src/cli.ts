import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Command, Group, OptionSpec, Values } from './command.js';
import { data } from './data.js';
import { flags } from './flags.js';
import { parseDuration } from './format.js';
import { CliError, type Connection, createClient, usageError } from './http.js';
import { rollout } from './rollout.js';
import { shadow } from './shadow.js';

const groups: Record<string, Group> = { flags, shadow, rollout, data };

const DEFAULT_GATEWAY = 'http://localhost:8000';

const globalOptions: Record<string, OptionSpec> = {
  gateway: {
    type: 'string',
    value: 'URL',
    description: `gateway (env CINEMAABYSS_GATEWAY; ${DEFAULT_GATEWAY})`,
  },
  'token-file': { type: 'string', value: 'FILE', description: 'read the admin token from FILE' },
  json: { type: 'boolean', description: 'print the JSON the gateway answered, for scripts' },
  timeout: { type: 'string', value: 'DURATION', description: 'give up on a request after this long (10s)' },
  help: { type: 'boolean', description: 'this help; `cinemaabyss COMMAND --help` for one command' },
};

const TOKEN_NOTE =
  'The admin token comes from the env CINEMAABYSS_TOKEN or from --token-file FILE (with the local stack:\n' +
  '--token-file .stack/admin-token), never from a flag value: that would land in the shell history.';
const EXIT_NOTE =
  'Exit codes: 0 done; 1 the gateway refused, the rollout rolled back or was aborted, or no sync process\n' +
  'heard a verify; 2 bad command line or no token; 3 the gateway could not be reached or did not answer in\n' +
  'time.';

// One parse over every option of every command finds the command wherever the options stand; the
// command's own list is checked afterwards.
const everyOption: Record<string, OptionSpec> = Object.assign(
  {},
  globalOptions,
  ...Object.values(groups).map((group) => group.options),
);
const parseArgsOptions = Object.fromEntries(
  Object.entries(everyOption).map(([name, { type }]) => [
    name,
    name === 'help' ? { type, short: 'h' } : { type },
  ]),
);

type Parsed =
  | { help: string; exitCode: number }
  | { command: Command; args: string[]; values: Values; label: string };

/** Finds the command and checks the command line against it, without touching the network. */
export function parseCommandLine(argv: string[]): Parsed {
  if (argv.some((arg) => arg === '--token' || arg.startsWith('--token=')))
    throw usageError(
      '--token is not accepted (it would land in the shell history); use CINEMAABYSS_TOKEN or --token-file',
    );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: parseArgsOptions, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError((error as Error).message.split('. ')[0]!);
  }
  const { values, positionals } = parsed as { values: Values; positionals: string[] };
  const [groupName, commandName, ...args] = positionals;
  if (groupName === undefined) return { help: globalHelp(), exitCode: values.help ? 0 : 2 };
  const group = groups[groupName];
  if (!group) throw usageError(`unknown command "${groupName}"; commands: ${Object.keys(groups).join(', ')}`);
  if (commandName === undefined || values.help)
    return { help: groupHelp(groupName, group), exitCode: values.help ? 0 : 2 };
  const command = group.commands[commandName];
  const label = `${groupName} ${commandName}`;
  if (!command)
    throw usageError(
      `unknown command "${label}"; ${groupName} has ${Object.keys(group.commands).join(', ')}`,
    );
  const [min, max] = command.args;
  if (args.length < min || args.length > max)
    throw usageError(`usage: cinemaabyss ${groupName} ${command.usage}`);
  for (const option of Object.keys(values)) {
    if (!(option in globalOptions) && !command.options?.includes(option))
      throw usageError(`${label} does not take --${option}`);
  }
  return { command, args, values, label };
}

/** Where and how to connect: flags first, then the environment, then the default. */
export function connectionFrom(values: Values, env: NodeJS.ProcessEnv): Connection {
  const gateway =
    typeof values.gateway === 'string' ? values.gateway : (env.CINEMAABYSS_GATEWAY ?? DEFAULT_GATEWAY);
  if (!URL.canParse(gateway) || !/^https?:$/.test(new URL(gateway).protocol))
    throw usageError(`the gateway "${gateway}" is not an http(s) URL`);
  const timeoutMs = parseDuration(typeof values.timeout === 'string' ? values.timeout : '10s', '--timeout');
  if (timeoutMs < 1) throw usageError('--timeout must be at least 1ms');
  return { gateway, token: tokenFrom(values, env), timeoutMs };
}

function tokenFrom(values: Values, env: NodeJS.ProcessEnv): string {
  const file = values['token-file'];
  if (typeof file === 'string') {
    let token: string;
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new CliError(`cannot read the token file: ${(error as Error).message}`, 2);
    }
    if (token === '') throw new CliError(`the token file ${file} is empty`, 2);
    return token;
  }
  if (env.CINEMAABYSS_TOKEN) return env.CINEMAABYSS_TOKEN.trim();
  throw new CliError('no admin token: set CINEMAABYSS_TOKEN or pass --token-file FILE', 2);
}

const optionLines = (options: Record<string, OptionSpec>) =>
  Object.entries(options).map(([name, spec]) => {
    const left = `  --${name}${spec.value ? ` ${spec.value}` : ''}`;
    return `${left.padEnd(34)} ${spec.description}`;
  });

function commandLines(name: string, group: Group) {
  return Object.values(group.commands).map(
    (command) => `  cinemaabyss ${name} ${command.usage}\n      ${command.summary}`,
  );
}

function globalHelp(): string {
  return [
    'cinemaabyss: the command line for a CinemaAbyss migration, over the gateway admin API',
    '',
    'Usage: cinemaabyss COMMAND SUBCOMMAND [ARGS] [options]',
    '',
    ...Object.entries(groups).flatMap(([name, group]) => [
      `${name}: ${group.summary}`,
      ...commandLines(name, group),
      '',
    ]),
    'Options of every command:',
    ...optionLines(globalOptions),
    '',
    TOKEN_NOTE,
    EXIT_NOTE,
    'Durations are written like 500ms, 90s, 5m or 1m30s; rates like 1% or 0.5%.',
    '',
    'Examples:',
    '  export CINEMAABYSS_TOKEN=$(cat .stack/admin-token)',
    ...Object.values(groups).flatMap((group) => group.examples.map((example) => `  ${example}`)),
  ].join('\n');
}

function groupHelp(name: string, group: Group): string {
  return [
    `cinemaabyss ${name}: ${group.summary}`,
    '',
    ...commandLines(name, group),
    '',
    'Options:',
    ...optionLines(group.options),
    '',
    'Options of every command:',
    ...optionLines(globalOptions),
    '',
    TOKEN_NOTE,
    EXIT_NOTE,
    '',
    'Examples:',
    ...group.examples.map((example) => `  ${example}`),
  ].join('\n');
}

/** Runs one command line; resolves to the exit code, throws a CliError for the person at the terminal. */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv);
  if ('help' in parsed) {
    (parsed.exitCode === 0 ? process.stdout : process.stderr).write(`${parsed.help}\n`);
    return parsed.exitCode;
  }
  const connection = connectionFrom(parsed.values, process.env);
  const ctx = {
    call: createClient(connection),
    json: parsed.values.json === true,
    out: process.stdout,
    err: process.stderr,
  };
  return (await parsed.command.run(ctx, parsed.args, parsed.values)) ?? 0;
}
