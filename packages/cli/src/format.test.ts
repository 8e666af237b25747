import { describe, expect, it } from 'vitest';
import {
  brief,
  formatDuration,
  formatRate,
  parseCount,
  parseDuration,
  parseList,
  parsePercent,
  parseRate,
  parseRatio,
  progressBar,
  table,
} from './format.js';
import { CliError } from './http.js';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    return (error as CliError).message;
  }
  throw new Error('expected a refusal');
};

describe('human values', () => {
  it('reads durations with units, alone or combined', () => {
    expect(parseDuration('90s', '--interval')).toBe(90_000);
    expect(parseDuration('5m', '--interval')).toBe(300_000);
    expect(parseDuration('1m30s', '--interval')).toBe(90_000);
    expect(parseDuration('500ms', '--interval')).toBe(500);
    expect(parseDuration('1.5s', '--interval')).toBe(1_500);
    expect(parseDuration('2h', '--interval')).toBe(7_200_000);
  });

  it('refuses a duration without a unit or with junk, naming the option', () => {
    expect(refusal(() => parseDuration('60', '--interval'))).toBe(
      '--interval: "60" is not a duration; write it like 500ms, 90s, 5m or 1m30s (see --help)',
    );
    for (const bad of ['', '5 m', '5min', 'm', '1m30', '-5s', '5s '])
      refusal(() => parseDuration(bad, '--x'));
  });

  it('prints durations the way they are written', () => {
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(300_000)).toBe('5m');
    expect(formatDuration(7_500_000)).toBe('2h5m');
    expect(formatDuration(-20)).toBe('0ms');
  });

  it('reads rates as percentages into the fractions the API takes, exactly', () => {
    expect(parseRate('1%', '--max-error-increase')).toBe(0.01);
    expect(parseRate('0.5%', '--max-mismatch')).toBe(0.005);
    expect(parseRate('1.1%', '--max-mismatch')).toBe(0.011);
    expect(parseRate('100%', '--max-mismatch')).toBe(1);
  });

  it('refuses a rate without its % sign: 1 could mean 1 % or 100 %', () => {
    expect(refusal(() => parseRate('1', '--max-error-increase'))).toContain(
      '--max-error-increase: "1" is not a percentage; write it like 1% or 0.5%',
    );
    refusal(() => parseRate('0.01', '--max-mismatch'));
    refusal(() => parseRate('%', '--max-mismatch'));
  });

  it('reads percents, ratios, counts and lists', () => {
    expect(parsePercent('25', '--percent')).toBe(25);
    expect(parsePercent('25%', '--percent')).toBe(25);
    // Range and integrality are the gateway's to judge (its message is shown), not guessed here.
    expect(parsePercent('101', '--percent')).toBe(101);
    expect(parsePercent('12.5', '--percent')).toBe(12.5);
    refusal(() => parsePercent('abc', '--percent'));
    refusal(() => parsePercent('-5', '--percent'));
    expect(parseRatio('1.5', '--max-latency-ratio')).toBe(1.5);
    expect(parseRatio('2x', '--max-latency-ratio')).toBe(2);
    refusal(() => parseRatio('fast', '--max-latency-ratio'));
    expect(parseCount('200', '--min-requests')).toBe(200);
    refusal(() => parseCount('2e2', '--min-requests'));
    expect(parseList('a, b,,c')).toEqual(['a', 'b', 'c']);
    expect(parseList('')).toEqual([]);
  });

  it('prints rates and bars', () => {
    expect(formatRate(0.024)).toBe('2.4%');
    expect(formatRate(0.01)).toBe('1%');
    expect(formatRate(1 / 3)).toBe('33.33%');
    expect(progressBar(0, 10)).toBe('[----------]');
    expect(progressBar(0.25, 8)).toBe('[##------]');
    expect(progressBar(1, 4)).toBe('[####]');
    expect(progressBar(3, 4)).toBe('[####]');
  });
});

describe('tables', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(
      table(
        ['NAME', 'PERCENT', 'SOURCE'],
        [
          ['movies', '25%', 'redis'],
          ['users-service', '0%', 'seed'],
        ],
      ),
    ).toBe(
      [
        'NAME           PERCENT  SOURCE',
        'movies         25%      redis',
        'users-service  0%       seed',
      ].join('\n'),
    );
  });

  it('keeps values short', () => {
    expect(brief(null)).toBe('-');
    expect(brief(['a', 'b'])).toBe('[a,b]');
    expect(brief(['1', '2', '3', '4', '5', '6', '7'])).toBe('[1,2,3,4,5,… 7 in all]');
    expect(brief({ a: 1 })).toBe('{"a":1}');
    expect(brief(false)).toBe('false');
  });
});
