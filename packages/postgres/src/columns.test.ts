import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pgText, queryId } from './columns.js';

describe('queryId', () => {
  const query = z.object({ id: queryId });

  it.each([
    ['42', 42],
    [' 1', 1],
    ['+1', 1],
    ['\t7 ', 7],
    ['007', 7],
    ['0', 0],
    ['-5', -5],
    ['2147483647', 2147483647],
    ['-2147483648', -2147483648],
  ])('reads %j as PostgreSQL would: %d', (value, id) => {
    expect(query.parse({ id: value }).id).toBe(id);
  });

  it('takes the first of repeated values and treats empty or missing as absent', () => {
    expect(query.parse({ id: ['3', '4'] }).id).toBe(3);
    expect(query.parse({ id: '' }).id).toBeUndefined();
    expect(query.parse({ id: ['', '4'] }).id).toBeUndefined();
    expect(query.parse({}).id).toBeUndefined();
  });

  it.each(['abc', '1.5', '1e3', '0x10', '1 2', '2147483648', '-2147483649'])('refuses %j', (value) => {
    expect(query.safeParse({ id: value }).success).toBe(false);
  });
});

describe('pgText', () => {
  it('keeps text exactly as sent and bounds it in characters, as varchar(n) counts them', () => {
    expect(pgText(6).parse('  abc ')).toBe('  abc ');
    expect(pgText(5).parse('   ')).toBe('   ');
    expect(pgText(5).safeParse('abcdef').success).toBe(false);
    expect(pgText(2).parse('🎬🎬')).toBe('🎬🎬');
    expect(pgText(1).safeParse('🎬🎬').success).toBe(false);
    expect(pgText().parse('x'.repeat(100_000))).toHaveLength(100_000);
  });

  it('refuses empty text unless allowed', () => {
    expect(pgText(5).safeParse('').error?.issues[0]?.message).toBe('must not be empty');
    expect(pgText(5, { allowEmpty: true }).parse('')).toBe('');
  });

  it('refuses NUL characters, which PostgreSQL text cannot store', () => {
    expect(pgText(10).safeParse('a\u0000b').error?.issues[0]?.message).toBe(
      'must not contain NUL characters',
    );
  });
});
