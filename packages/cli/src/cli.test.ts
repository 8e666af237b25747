import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectionFrom, parseCommandLine } from './cli.js';
import { describeChange, flagChange } from './flags.js';
import { CliError } from './http.js';
import { rolloutPlan } from './rollout.js';
import { shadowSettings } from './shadow.js';

/** The command line refused as a usage error (exit code 2); returns the message. */
function refused(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    return (error as CliError).message;
  }
  throw new Error('expected the command line to be refused');
}

const command = (argv: string[]) => {
  const parsed = parseCommandLine(argv);
  if ('help' in parsed) throw new Error('expected a command, got the help');
  return parsed;
};

describe('the command line', () => {
  it('finds the command, its arguments and options wherever the options stand', () => {
    const parsed = command([
      '--json',
      'flags',
      'set',
      'movies',
      '--percent',
      '25',
      '--gateway',
      'http://g:1',
    ]);
    expect(parsed.label).toBe('flags set');
    expect(parsed.args).toEqual(['movies']);
    expect(parsed.values).toMatchObject({ json: true, percent: '25', gateway: 'http://g:1' });
  });

  it('answers --help with the help and exit code 0, and a bare group with the help and 2', () => {
    const all = parseCommandLine(['--help']);
    expect(all).toMatchObject({ exitCode: 0 });
    for (const line of [
      'cinemaabyss flags list',
      'cinemaabyss shadow report NAME',
      'cinemaabyss rollout status NAME [--watch]',
    ])
      expect((all as { help: string }).help).toContain(line);
    const group = parseCommandLine(['rollout', 'start', '--help']);
    expect(group).toMatchObject({ exitCode: 0 });
    expect((group as { help: string }).help).toContain('--max-error-increase PCT');
    expect((group as { help: string }).help).toContain('Examples:');
    expect(parseCommandLine(['shadow'])).toMatchObject({ exitCode: 2 });
    expect(parseCommandLine([])).toMatchObject({ exitCode: 2 });
  });

  it('refuses unknown commands, misplaced options and wrong argument counts', () => {
    expect(refused(() => parseCommandLine(['flag', 'list']))).toContain(
      'unknown command "flag"; commands: flags, shadow, rollout, data',
    );
    expect(refused(() => parseCommandLine(['rollout', 'begin', 'x']))).toContain(
      'unknown command "rollout begin"; rollout has start, status, pause, resume, promote, abort',
    );
    expect(refused(() => parseCommandLine(['flags', 'get', 'movies', '--percent', '5']))).toContain(
      'flags get does not take --percent',
    );
    expect(refused(() => parseCommandLine(['shadow', 'set', 'movies', '--watch']))).toContain(
      'shadow set does not take --watch',
    );
    expect(refused(() => parseCommandLine(['flags', 'get']))).toContain('usage: cinemaabyss flags get NAME');
    expect(refused(() => parseCommandLine(['rollout', 'abort', 'a', 'b']))).toContain(
      'usage: cinemaabyss rollout abort NAME',
    );
    expect(refused(() => parseCommandLine(['flags', 'list', '--bogus']))).toContain(
      "Unknown option '--bogus'",
    );
    expect(refused(() => parseCommandLine(['flags', 'set', 'm', '--percent']))).toContain("'--percent");
  });

  it('never takes the token as a flag value', () => {
    expect(refused(() => parseCommandLine(['flags', 'list', '--token', 'secret']))).toContain(
      '--token is not accepted',
    );
    expect(refused(() => parseCommandLine(['flags', 'list', '--token=secret']))).not.toContain('secret');
  });
});

describe('where to connect', () => {
  it('takes the flag over the environment over the default', () => {
    const env = { CINEMAABYSS_TOKEN: 't0ken' };
    expect(connectionFrom({}, env)).toEqual({
      gateway: 'http://localhost:8000',
      token: 't0ken',
      timeoutMs: 10_000,
    });
    expect(connectionFrom({}, { ...env, CINEMAABYSS_GATEWAY: 'http://gw:8000' }).gateway).toBe(
      'http://gw:8000',
    );
    expect(
      connectionFrom(
        { gateway: 'https://other', timeout: '2s' },
        { ...env, CINEMAABYSS_GATEWAY: 'http://gw:8000' },
      ),
    ).toMatchObject({ gateway: 'https://other', timeoutMs: 2_000 });
  });

  it('reads --token-file, trimmed, before the environment', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cinemaabyss-cli-')), 'token');
    writeFileSync(file, 'from-file\n');
    expect(connectionFrom({ 'token-file': file }, { CINEMAABYSS_TOKEN: 'from-env' }).token).toBe('from-file');
    writeFileSync(file, '\n');
    expect(refused(() => connectionFrom({ 'token-file': file }, {}))).toContain('is empty');
    expect(refused(() => connectionFrom({ 'token-file': `${file}.missing` }, {}))).toContain(
      'cannot read the token file',
    );
  });

  it('refuses a missing token, a gateway that is not an http URL and a bad timeout', () => {
    expect(refused(() => connectionFrom({}, {}))).toBe(
      'no admin token: set CINEMAABYSS_TOKEN or pass --token-file FILE',
    );
    const env = { CINEMAABYSS_TOKEN: 't' };
    expect(refused(() => connectionFrom({ gateway: 'localhost:8000' }, env))).toContain(
      'is not an http(s) URL',
    );
    expect(refused(() => connectionFrom({}, { ...env, CINEMAABYSS_GATEWAY: 'ftp://x' }))).toContain(
      '"ftp://x"',
    );
    expect(refused(() => connectionFrom({ timeout: '10' }, env))).toContain('--timeout');
  });
});

describe('request bodies built from the options', () => {
  it('flags set sends only what was given', () => {
    expect(flagChange({ percent: '25%' })).toEqual({ percent: 25 });
    expect(flagChange({ enabled: 'false', allow: 'alice,bob', deny: '' })).toEqual({
      enabled: false,
      allow: ['alice', 'bob'],
      deny: [],
    });
    expect(refused(() => flagChange({}))).toContain('give --percent, --enabled, --allow or --deny');
  });

  it('shadow set sends the percent and, when given, the ignored paths', () => {
    expect(shadowSettings({ percent: '10' })).toEqual({ percent: 10 });
    expect(shadowSettings({ percent: '100%', ignore: '$.served_at, $[*].etag' })).toEqual({
      percent: 100,
      ignore: ['$.served_at', '$[*].etag'],
    });
    expect(refused(() => shadowSettings({ ignore: '$.x' }))).toContain('shadow set needs --percent N');
    expect(refused(() => shadowSettings({ percent: 'lots' }))).toContain('--percent: "lots"');
  });

  it('rollout start turns human values into the API fields', () => {
    expect(
      rolloutPlan({
        steps: '5,25%,50,100',
        interval: '90s',
        'min-requests': '200',
        'max-error-increase': '1%',
        'max-latency-ratio': '1.5',
        'latency-floor': '50ms',
        'max-mismatch': '0.5%',
        'max-data-lag': '5s',
      }),
    ).toEqual({
      steps: [5, 25, 50, 100],
      intervalMs: 90_000,
      minRequests: 200,
      maxErrorRateIncrease: 0.01,
      maxLatencyRatio: 1.5,
      latencyFloorMs: 50,
      maxMismatchRate: 0.005,
      maxDataLagMs: 5_000,
    });
    expect(rolloutPlan({ steps: '10,50,100', interval: '5m' })).toEqual({
      steps: [10, 50, 100],
      intervalMs: 300_000,
    });
  });

  it('rollout start refuses missing or malformed values, naming the option', () => {
    expect(refused(() => rolloutPlan({ steps: '5,100' }))).toContain(
      'rollout start needs --steps and --interval',
    );
    expect(refused(() => rolloutPlan({ steps: '5,x,100', interval: '1m' }))).toContain('--steps: "x"');
    expect(refused(() => rolloutPlan({ steps: '5,100', interval: '60' }))).toContain('--interval: "60"');
    expect(
      refused(() => rolloutPlan({ steps: '5,100', interval: '1m', 'max-error-increase': '0.01' })),
    ).toContain('--max-error-increase: "0.01" is not a percentage');
    expect(refused(() => rolloutPlan({ steps: '5,100', interval: '1m', 'min-requests': 'many' }))).toContain(
      '--min-requests',
    );
  });
});

describe('a change in words', () => {
  it('names each field that changed', () => {
    expect(describeChange({ enabled: true, percent: 0 }, { enabled: true, percent: 25 })).toBe(
      'percent 0 → 25',
    );
    expect(describeChange(null, { enabled: true, percent: 5 })).toBe('enabled true, percent 5');
    expect(describeChange({ percent: 5, allow: [] }, { percent: 5, allow: ['a'] })).toBe('allow [] → [a]');
    expect(describeChange({ percent: 5 }, { percent: 5 })).toBe('no change');
  });
});
