import { describe, expect, it } from 'vitest';
import { deadLetter } from './dead-letter.js';
import { recordBytes } from './kafka/bus.js';

const message = (value: Buffer | null, headers: Record<string, string> = {}) => ({
  topic: 'movie-events',
  partition: 2,
  offset: '41',
  key: Buffer.from('7'),
  value,
  headers,
  timestamp: 0,
});

describe('deadLetter', () => {
  it('keeps the original whole when it fits, with where it came from and why', () => {
    const letter = deadLetter(message(Buffer.from('oops'), { 'x-request-id': 'r1' }), 'not JSON', 10_000);
    expect(letter).toEqual({
      key: '7',
      value: Buffer.from('oops'),
      headers: {
        'x-request-id': 'r1',
        'x-dlq-reason': 'not JSON',
        'x-dlq-topic': 'movie-events',
        'x-dlq-partition': '2',
        'x-dlq-offset': '41',
      },
      cut: false,
    });
  });

  it('cuts what does not fit: the original headers, then the value, and a long reason', () => {
    const letter = deadLetter(
      message(Buffer.alloc(50_000, 'v'), { big: 'h'.repeat(5_000) }),
      'r'.repeat(5_000),
      20_000,
    );
    expect(letter.cut).toBe(true);
    expect(letter.headers.big).toBeUndefined();
    expect(letter.headers['x-dlq-reason']).toHaveLength(1024);
    expect(letter.headers).toMatchObject({
      'x-dlq-offset': '41',
      'x-dlq-cut': 'headers,value',
      'x-dlq-value-bytes': '50000',
    });
    expect(recordBytes(letter)).toBeLessThanOrEqual(20_000);
    expect(letter.value?.length).toBeGreaterThan(15_000);
  });
});
