import { describe, expect, it } from 'vitest';
import { epochToIso, isBefore, parseInstant } from './rfc3339.js';

describe('parseInstant', () => {
  it('takes RFC 3339 as Go’s time.Time did, keeping nanoseconds and the offset', () => {
    expect(parseInstant('2026-01-01T02:00:00.1234567891+02:00')).toEqual({
      sql: '2026-01-01T02:00:00.123456789+02:00',
      seconds: Date.UTC(2026, 0, 1) / 1000,
      nanos: '123456789',
    });
    expect(parseInstant('0000-02-29T00:00:00Z')?.sql).toBe('0001-02-29T00:00:00Z BC');
  });

  it.each([
    '2026-01-01',
    '2026-01-01 00:00:00Z',
    '2026-01-01t00:00:00z',
    '2026-01-01T00:00Z',
    '2026-01-01T00:00:00',
    '2026-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:00:60Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00,5Z',
    '+2026-01-01T00:00:00Z',
  ])('refuses %j, as Go did', (text) => {
    expect(parseInstant(text)).toBeUndefined();
  });

  it('orders to the nanosecond across offsets', () => {
    const at = (text: string) => parseInstant(text) as NonNullable<ReturnType<typeof parseInstant>>;
    expect(isBefore(at('2026-01-01T00:00:00.000000001Z'), at('2026-01-01T00:00:00.000000002Z'))).toBe(true);
    expect(isBefore(at('2026-01-01T02:00:00+02:00'), at('2026-01-01T00:00:00Z'))).toBe(false);
    expect(isBefore(at('2026-01-01T00:00:00Z'), at('2026-01-01T02:00:00+02:00'))).toBe(false);
  });
});

describe('epochToIso', () => {
  it('cuts PostgreSQL epochs to milliseconds, before 1970 too', () => {
    expect(epochToIso('1672531200.000000')).toBe('2023-01-01T00:00:00.000Z');
    expect(epochToIso('1672531200.123999')).toBe('2023-01-01T00:00:00.123Z');
    expect(epochToIso('-0.000500')).toBe('1969-12-31T23:59:59.999Z');
    expect(epochToIso('-62162121600.000000')).toBe('0000-02-29T00:00:00.000Z');
  });
});
