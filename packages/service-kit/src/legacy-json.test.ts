import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { foldKey, legacyObject, parseLegacyJson } from './legacy-json.js';

describe('parseLegacyJson', () => {
  it('reads the first JSON value and ignores what follows it, as Go’s json.Decoder', () => {
    expect(parseLegacyJson(' {"a": [1, {"b": "}"}]} trailing {')).toEqual({ a: [1, { b: '}' }] });
    expect(parseLegacyJson('[1, 2] 3')).toEqual([1, 2]);
    expect(parseLegacyJson('"x\\"y" z')).toBe('x"y');
    expect(parseLegacyJson('12 34')).toBe(12);
  });

  it('keeps one member per case-insensitive key: the last one sent', () => {
    expect(parseLegacyJson('{"title": "a", "Title": "b", "title": "c"}')).toEqual({ title: 'c' });
    expect(parseLegacyJson('{"TITLE": "a", "rating": 1, "title": "b"}')).toEqual({ rating: 1, title: 'b' });
    expect(parseLegacyJson('{"k\\u0065y": 1, "KEY": 2}')).toEqual({ KEY: 2 });
  });

  it('keeps a __proto__ key a plain member', () => {
    const value = parseLegacyJson('{"__proto__": {"polluted": true}}') as object;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it.each(['', '   ', 'username=bob', '{"a": ', '{"a" 1}', '}', 'tru'])('throws on %j', (text) => {
    expect(() => parseLegacyJson(text)).toThrow(SyntaxError);
  });
});

describe('foldKey', () => {
  it('folds as Go’s encoding/json: Kelvin sign, long s, dotless and dotted i fold to ASCII', () => {
    expect(foldKey('user_id')).toBe('USER_ID');
    expect(foldKey('\u212Aey')).toBe('KEY');
    expect(foldKey('\u017Ftart_date')).toBe('START_DATE');
    expect(foldKey('t\u0131tle')).toBe(foldKey('title'));
    expect(foldKey('t\u0130tle')).toBe(foldKey('title'));
    expect(foldKey('\uFB06art_date')).not.toBe(foldKey('start_date')); // ligature: no simple mapping
  });
});

describe('legacyObject', () => {
  const schema = legacyObject({ user_id: z.number(), plan_type: z.string() });

  it('matches keys in any letter case and drops unknown ones', () => {
    expect(schema.parse({ User_ID: 1, PLAN_TYPE: 'basic', extra: true })).toEqual({
      user_id: 1,
      plan_type: 'basic',
    });
  });

  it('still refuses what is not an object', () => {
    expect(schema.safeParse([1]).success).toBe(false);
    expect(schema.safeParse(null).success).toBe(false);
  });
});
