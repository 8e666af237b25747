import { describe, expect, it } from 'vitest';
import { formatPath, isCovered, parsePath, toPattern, WILDCARD } from './paths.js';

describe('shadow paths', () => {
  it('prints keys, quoted keys and indices in one syntax', () => {
    expect(formatPath([])).toBe('$');
    expect(formatPath([3, 'rating'])).toBe('$[3].rating');
    expect(formatPath(['genres', 1])).toBe('$.genres[1]');
    expect(formatPath(['served-at', 'a b', '1x', 'é'])).toBe('$.served-at["a b"]["1x"]["é"]');
    expect(formatPath(['items', 2, 'id'], true)).toBe('$.items[*].id');
  });

  it('parses what it prints, canonically', () => {
    for (const segments of [[], [3, 'rating'], ['a"b]', 0, 'c.d'], ['x', WILDCARD, 'y']]) {
      expect(parsePath(formatPath(segments))).toEqual(segments);
    }
    expect(toPattern('$["served_at"]')).toBe('$.served_at');
    expect(toPattern('$.items[12].meta["a.b"]')).toBe('$.items[*].meta["a.b"]');
  });

  it('refuses malformed paths with a message saying what is wrong', () => {
    expect(parsePath('served_at')).toMatch(/must start with \$/);
    expect(parsePath('$.')).toMatch(/expected a key after "\."/);
    expect(parsePath('$.a[')).toMatch(/unclosed "\["/);
    expect(parsePath('$.a[x]')).toMatch(/must be an index like \[3\]/);
    expect(parsePath('$.a b')).toMatch(/unexpected " "/);
    expect(parsePath('$["a]')).toMatch(/unclosed/);
    expect(parsePath('$["\\q"]')).toMatch(/not a valid JSON string/);
  });

  it('covers a pattern and everything below it, never a sibling sharing a prefix', () => {
    const covering = new Set(['$[*].served_at', '$.meta', '$["a.b"]']);
    expect(isCovered('$[*].served_at', covering)).toBe(true);
    expect(isCovered('$[*].served_at.nanos', covering)).toBe(true);
    expect(isCovered('$[*].served_at_local', covering)).toBe(false);
    expect(isCovered('$.meta[*].x', covering)).toBe(true);
    expect(isCovered('$.metadata', covering)).toBe(false);
    expect(isCovered('$["a.b"].c', covering)).toBe(true);
    expect(isCovered('$["a.b.c"]', covering)).toBe(false);
    // A "." inside a quoted key is not a segment boundary.
    expect(isCovered('$["meta.x"]', new Set(['$["meta']))).toBe(false);
    expect(isCovered('status', new Set(['$']))).toBe(false);
    expect(isCovered('$.anything[*]', new Set(['$']))).toBe(true);
  });

  it('makes a noisy index cover every index once written as a pattern', () => {
    const noise = new Set([toPattern('$[3].served_at') as string]);
    expect(isCovered(formatPath([7, 'served_at'], true), noise)).toBe(true);
    expect(isCovered(formatPath([7, 'rating'], true), noise)).toBe(false);
  });
});
