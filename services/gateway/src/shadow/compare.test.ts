import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type Answer, compareAnswers, MISSING, mediaType, preview } from './compare.js';

const MAX = 256 * 1024;
const json = (value: unknown, overrides: Partial<Answer> = {}): Answer => ({
  status: 200,
  contentType: 'application/json; charset=utf-8',
  contentEncoding: undefined,
  body: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  ...overrides,
});
/** The differences as `path: a → b` lines, values previewed. */
const diff = (a: Answer, b: Answer) => {
  const result = compareAnswers(a, b, MAX);
  return result === 'skipped' ? result : result.map((d) => `${d.path}: ${preview(d.a)} → ${preview(d.b)}`);
};

describe('compareAnswers', () => {
  it('finds no difference between equal bodies, whatever the key order', () => {
    expect(diff(json('{"a":1,"b":{"c":[1,2],"d":null}}'), json('{"b":{"d":null,"c":[1,2]},"a":1}'))).toEqual(
      [],
    );
  });

  it('reports each differing path with both values', () => {
    const old = [
      { id: 1, rating: 8.5 },
      { id: 2 },
      { id: 3 },
      { id: 4, rating: 8.5, genres: ['Drama', 'Crime'] },
    ];
    const now = [{ id: 1, rating: 8.5 }, { id: 2 }, { id: 3 }, { id: 4, rating: 8.6, genres: ['Drama'] }];
    expect(diff(json(old), json(now))).toEqual([
      '$[3].rating: 8.5 → 8.6',
      '$[3].genres[1]: "Crime" → missing',
    ]);
  });

  it('compares nested arrays by index, extra elements on either side', () => {
    expect(diff(json({ m: [[1, 2], [3]] }), json({ m: [[1, 2, 5], [4], []] }))).toEqual([
      '$.m[0][2]: missing → 5',
      '$.m[1][0]: 3 → 4',
      '$.m[2]: missing → []',
    ]);
  });

  it('compares numbers by value: 1 and 1.0 are equal, 1 and "1" are not', () => {
    expect(diff(json('{"n":1,"e":100}'), json('{"n":1.0,"e":1e2}'))).toEqual([]);
    expect(diff(json('{"n":1}'), json('{"n":"1"}'))).toEqual(['$.n: 1 → "1"']);
  });

  it('tells null from missing, and a type change from a value change', () => {
    expect(diff(json({ a: null, b: 1 }), json({ b: 1 }))).toEqual(['$.a: null → missing']);
    expect(diff(json({ b: 1 }), json({ a: null, b: 1 }))).toEqual(['$.a: missing → null']);
    expect(diff(json({ a: [1] }), json({ a: { 0: 1 } }))).toEqual(['$.a: [1] → {"0":1}']);
    expect(diff(json({ a: {} }), json({ a: null }))).toEqual(['$.a: {} → null']);
    expect(diff(json([1]), json({}))).toEqual(['$: [1] → {}']);
  });

  it('quotes keys the dot form cannot hold, and treats __proto__ as a plain key', () => {
    expect(diff(json('{"a b":1,"__proto__":{"x":1}}'), json('{"a b":2,"__proto__":{"x":2}}'))).toEqual([
      '$["a b"]: 1 → 2',
      '$.__proto__.x: 1 → 2',
    ]);
  });

  it('compares status codes first and stops there', () => {
    expect(diff(json({ a: 1 }), json({ a: 2 }, { status: 404 }))).toEqual(['status: 200 → 404']);
  });

  it('compares media types without case, spacing or quotes of parameters', () => {
    expect(mediaType('Application/JSON ; Charset="UTF-8"')).toBe(mediaType('application/json;charset=utf-8'));
    expect(diff(json({ a: 1 }), json({ a: 1 }, { contentType: 'application/json;CHARSET=UTF-8' }))).toEqual(
      [],
    );
    expect(diff(json({ a: 1 }), json({ a: 1 }, { contentType: 'application/json' }))).toEqual([
      'content-type: "application/json; charset=utf-8" → "application/json"',
    ]);
    expect(diff(json({ a: 1 }), json({ a: 1 }, { contentType: 'text/html' }))).toEqual([
      'content-type: "application/json; charset=utf-8" → "text/html"',
    ]);
    expect(diff(json({ a: 1 }, { contentType: undefined }), json({ a: 1 }))).toEqual([
      'content-type: missing → "application/json; charset=utf-8"',
    ]);
  });

  it('compares +json bodies structurally and anything else by bytes', () => {
    const problem = { contentType: 'application/problem+json' };
    expect(diff(json('{"a":1,"b":2}', problem), json('{"b":2,"a":1}', problem))).toEqual([]);
    const text = { contentType: 'text/plain' };
    expect(diff(json('{"a":1,"b":2}', text), json('{"b":2,"a":1}', text))).toEqual([
      'body: 13 bytes: {"a":1,"b":2} → 13 bytes: {"b":2,"a":1}',
    ]);
    expect(diff(json('same', text), json('same', text))).toEqual([]);
  });

  it('compares JSON that does not parse by bytes', () => {
    expect(diff(json('{"a":'), json('{"a":1}'))).toEqual(['body: 5 bytes: {"a": → 7 bytes: {"a":1}']);
  });

  it('compares HEAD answers (no body) by status and type', () => {
    expect(diff(json(''), json(''))).toEqual([]);
    expect(diff(json(''), json('', { status: 301 }))).toEqual(['status: 200 → 301']);
  });

  it('compares compressed bodies once decompressed', () => {
    const gzip = json({ a: 1 }, { body: gzipSync(JSON.stringify({ a: 1 })), contentEncoding: 'gzip' });
    expect(diff(gzip, json({ a: 1 }))).toEqual([]);
    expect(diff(gzip, json({ a: 2 }))).toEqual(['$.a: 1 → 2']);
  });

  it('skips bodies over the bound, also once decompressed, and corrupt compressed ones', () => {
    const big = json({ s: 'x'.repeat(MAX) });
    expect(compareAnswers(big, json({ s: '' }), MAX)).toBe('skipped');
    expect(compareAnswers(json({ s: '' }), big, MAX)).toBe('skipped');
    const bomb = json('', { body: gzipSync(Buffer.alloc(MAX * 4)), contentEncoding: 'gzip' });
    expect(bomb.body.length).toBeLessThan(MAX);
    expect(compareAnswers(bomb, bomb, MAX)).toBe('skipped');
    const corrupt = json('', { body: Buffer.from('not gzip'), contentEncoding: 'gzip' });
    expect(compareAnswers(corrupt, json({}), MAX)).toBe('skipped');
  });

  it('gives every difference the pattern that noise and ignore match against', () => {
    const result = compareAnswers(json([{ t: 1 }, { t: 2 }]), json([{ t: 3 }, { t: 4 }]), MAX);
    expect(result !== 'skipped' && result.map((d) => [d.path, d.pattern])).toEqual([
      ['$[0].t', '$[*].t'],
      ['$[1].t', '$[*].t'],
    ]);
  });
});

describe('preview', () => {
  it('shows JSON text, missing, and bytes, cut to 200 characters', () => {
    expect(preview('x')).toBe('"x"');
    expect(preview(MISSING)).toBe('missing');
    expect(preview(null)).toBe('null');
    expect(preview({ a: [1, { b: 'c' }] })).toBe('{"a":[1,{"b":"c"}]}');
    const long = preview({ list: Array.from({ length: 10_000 }, (_, i) => i) });
    expect(long).toHaveLength(200);
    expect(long.startsWith('{"list":[0,1,2,')).toBe(true);
    expect(long.endsWith('…')).toBe(true);
    expect(preview('y'.repeat(1_000))).toHaveLength(200);
    expect(preview(Buffer.from('abc'))).toBe('3 bytes: abc');
  });
});
