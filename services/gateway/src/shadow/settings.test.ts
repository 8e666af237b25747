import { describe, expect, it } from 'vitest';
import { parseShadowFields, shadowFields } from '../flags/record.js';
import {
  applyShadowChange,
  MAX_IGNORE_PATHS,
  resetShadow,
  SHADOW_OFF,
  shadowChangeSchema,
} from './settings.js';

const problems = (body: unknown) => {
  const result = shadowChangeSchema.safeParse(body);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('shadow settings', () => {
  it('accepts percent and ignore, either alone', () => {
    expect(shadowChangeSchema.parse({ percent: 25, ignore: ['$.served_at', '$[*].id'] })).toEqual({
      percent: 25,
      ignore: ['$.served_at', '$[*].id'],
    });
    expect(shadowChangeSchema.parse({ percent: 0 })).toEqual({ percent: 0 });
    expect(shadowChangeSchema.parse({ ignore: [] })).toEqual({ ignore: [] });
  });

  it('refuses unknown fields by name, bad percents and bad paths', () => {
    expect(problems({ percent: 5, ignored: ['$.x'] })).toEqual([
      ': unknown field "ignored"; the body takes "percent" and "ignore"',
    ]);
    expect(problems({})).toEqual([': give "percent", "ignore" or both']);
    expect(problems({ percent: 101 })).toEqual(['percent: must be an integer from 0 to 100']);
    expect(problems({ percent: 2.5 })).toEqual(['percent: must be an integer from 0 to 100']);
    expect(problems({ percent: '5' })).toEqual(['percent: must be an integer from 0 to 100']);
    expect(problems({ ignore: '$.x' })).toEqual(['ignore: must be a list of paths like ["$.served_at"]']);
    expect(problems({ ignore: ['$.ok', 'served_at'] })).toEqual([
      'ignore.1: must start with $ (like $.served_at)',
    ]);
    expect(problems({ ignore: [`$.${'a'.repeat(200)}`] })).toEqual([
      'ignore.0: must be at most 200 characters',
    ]);
    expect(problems({ ignore: Array(MAX_IGNORE_PATHS + 1).fill('$.a') })).toEqual([
      'ignore: must list at most 50 paths',
    ]);
  });

  it('keeps what a change leaves out, and the epoch until a reset', () => {
    const first = applyShadowChange(SHADOW_OFF, { percent: 10 }, new Date('2026-01-01T00:00:00Z'));
    expect(first).toEqual({ percent: 10, ignore: [], since: '2026-01-01T00:00:00.000Z' });
    const second = applyShadowChange(first, { ignore: ['$.served_at'] }, new Date('2026-01-02T00:00:00Z'));
    expect(second).toEqual({ percent: 10, ignore: ['$.served_at'], since: '2026-01-01T00:00:00.000Z' });
    expect(resetShadow(second, new Date('2026-01-03T00:00:00Z'))).toEqual({
      ...second,
      since: '2026-01-03T00:00:00.000Z',
    });
  });

  it('round-trips through the flag hash fields', () => {
    const settings = {
      percent: 40,
      ignore: ['$.served_at', '$["a b"][*]'],
      since: '2026-01-01T00:00:00.000Z',
    };
    const fields = shadowFields(settings);
    expect(fields).toEqual({
      shadow_percent: '40',
      shadow_ignore: '["$.served_at","$[\\"a b\\"][*]"]',
      shadow_since: '2026-01-01T00:00:00.000Z',
    });
    expect(parseShadowFields({ enabled: 'true', percent: '5', ...fields })).toEqual(settings);
  });

  it('reads a hash without shadow fields as off, and hand-written values', () => {
    expect(parseShadowFields({ enabled: 'true', percent: '5' })).toEqual(SHADOW_OFF);
    expect(parseShadowFields({ shadow_percent: '100' })).toEqual({ percent: 100, ignore: [], since: null });
  });

  it('refuses unusable hand-written values with a readable message naming the field', () => {
    expect(() => parseShadowFields({ shadow_percent: 'ten' })).toThrow(
      'stored shadow settings are invalid (shadow_percent: must be an integer from 0 to 100)',
    );
    expect(() => parseShadowFields({ shadow_percent: '250' })).toThrow(/shadow_percent: must be an integer/);
    expect(() => parseShadowFields({ shadow_ignore: '$.served_at' })).toThrow(
      /shadow_ignore: must be a JSON array like \["\$.served_at"\]/,
    );
    expect(() => parseShadowFields({ shadow_ignore: '["served_at"]' })).toThrow(
      /shadow_ignore.0: must start with \$/,
    );
    expect(() => parseShadowFields({ shadow_since: 'yesterday' })).toThrow(
      /shadow_since: must be an ISO time/,
    );
  });
});
