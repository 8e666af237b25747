import { describe, expect, it } from 'vitest';
import { pgText, queryId } from './columns.js';

describe('queryId', () => {
  it('accepts digits that fit an integer column', () => {
    expect(queryId.parse('42')).toBe(42);
    expect(queryId.parse('2147483647')).toBe(2147483647);
  });

  it.each(['', 'abc', '-1', '0', '1.5', '1e3', ' 7', '0x10', '2147483648'])('refuses %j', (value) => {
    expect(queryId.safeParse(value).success).toBe(false);
  });
});

describe('pgText', () => {
  it('trims and bounds text', () => {
    expect(pgText(5).parse('  abc ')).toBe('abc');
    expect(pgText(5).safeParse('abcdef').success).toBe(false);
    expect(pgText(5).safeParse('  ').success).toBe(false);
    expect(pgText(5, { allowEmpty: true }).parse('')).toBe('');
  });

  it('refuses NUL characters, which PostgreSQL text cannot store', () => {
    expect(pgText(10).safeParse('a\u0000b').error?.issues[0]?.message).toBe(
      'must not contain NUL characters',
    );
  });
});
