import { describe, expect, it } from 'vitest';
import { decodeEvent, entityKey, movieEventSchema, paymentEventSchema, userEventSchema } from './events.js';

const movie = { movie_id: 1, title: 'Inception', action: 'viewed' };
const envelope = (payload: unknown, type = 'movie') =>
  Buffer.from(JSON.stringify({ id: 'e1', type, timestamp: '2026-01-15T14:30:00Z', payload }));

describe('event schemas', () => {
  it('accept the contract examples and keep only declared fields', () => {
    expect(movieEventSchema.parse({ ...movie, rating: 8.5, genres: ['Sci-Fi'], extra: 1 })).toEqual({
      ...movie,
      rating: 8.5,
      genres: ['Sci-Fi'],
    });
    expect(
      userEventSchema.safeParse({ user_id: 1, action: 'registered', timestamp: '2023-01-15T14:30:00Z' })
        .success,
    ).toBe(true);
    expect(
      paymentEventSchema.safeParse({
        payment_id: 1,
        user_id: 1,
        amount: 9.99,
        status: 'completed',
        timestamp: '2023-01-15T14:30:00+03:00',
      }).success,
    ).toBe(true);
  });

  it('refuse wrong types, formats and missing required fields', () => {
    const issues =
      userEventSchema.safeParse({ user_id: 1.5, email: 'x', timestamp: '15/01/2023' }).error?.issues ?? [];
    expect(issues.map((issue) => issue.path.join('.')).sort()).toEqual([
      'action',
      'email',
      'timestamp',
      'user_id',
    ]);
  });

  it('key each event by its entity', () => {
    expect(entityKey('movie', movie)).toBe('1');
    expect(entityKey('payment', { payment_id: 9, user_id: 7 })).toBe('9');
  });
});

describe('decodeEvent', () => {
  it('decodes a valid event', () => {
    expect(decodeEvent('movie', envelope(movie))).toMatchObject({
      ok: true,
      event: { id: 'e1', payload: movie },
    });
  });

  it.each([
    ['an empty message', null, /empty/],
    ['bytes that are not JSON', Buffer.from('{oops'), /not JSON/],
    [
      'an envelope without id',
      Buffer.from(JSON.stringify({ type: 'movie', timestamp: '2026-01-15T14:30:00Z', payload: movie })),
      /^id:/,
    ],
    [
      'a payload breaking the schema',
      envelope({ movie_id: 'x', action: 'viewed' }),
      /payload\.movie_id.*payload\.title/,
    ],
    ['an event of another type', envelope(movie, 'user'), /type "user" on the movie topic/],
  ])('rejects %s with the reason', (_name, value, reason) => {
    const result = decodeEvent('movie', value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});
