import { describe, expect, it } from 'vitest';
import {
  assertMatchesContract,
  assertMatchesResponse,
  contractErrors,
  responseErrors,
  schemaNames,
} from './index.js';

const movie = { id: 1, title: 'Inception', description: 'Dreams', genres: ['Sci-Fi'], rating: 8.8 };

describe('contract', () => {
  it('loads the component schemas of the vendored contract', () => {
    expect(schemaNames()).toEqual(
      expect.arrayContaining(['Movie', 'User', 'Payment', 'Subscription', 'Error']),
    );
  });

  it('accepts a body that matches, including OpenAPI formats such as float and date-time', () => {
    expect(contractErrors('Movie', movie)).toEqual([]);
    expect(
      contractErrors('Payment', { id: 1, user_id: 2, amount: 9.99, timestamp: '2023-01-15T14:30:00Z' }),
    ).toEqual([]);
    expect(() => assertMatchesContract('Error', { error: 'nope' })).not.toThrow();
  });

  it('names each problem: wrong types, missing fields, bad formats', () => {
    const errors = contractErrors('Payment', { id: '1', user_id: 2, amount: '9.99', timestamp: 'yesterday' });
    expect(errors).toEqual(
      expect.arrayContaining([
        '/id must be integer',
        '/amount must be number',
        '/timestamp must match format "date-time"',
      ]),
    );
    expect(contractErrors('User', { id: 1, username: 'x' })).toEqual([
      "(root) must have required property 'email'",
    ]);
  });

  it('refuses undeclared properties unless told to allow them', () => {
    const extra = { ...movie, director: 'Nolan' };
    expect(contractErrors('Movie', extra)).toEqual(['(root) must NOT have additional properties (director)']);
    expect(contractErrors('Movie', extra, { allowUnknownProperties: true })).toEqual([]);
  });

  it('follows $refs into other components', () => {
    const response = {
      status: 'success',
      partition: 0,
      offset: 1,
      event: { id: 'e', type: 'movie', payload: {} },
    };
    expect(contractErrors('EventResponse', response)).toEqual([
      "/event must have required property 'timestamp'",
    ]);
  });

  it('checks a documented response, e.g. an array of movies', () => {
    expect(responseErrors('GET', '/api/movies', 200, [movie])).toEqual([]);
    expect(responseErrors('get', '/api/movies', 200, [{ ...movie, rating: '8.8' }])).toEqual([
      '/0/rating must be number',
    ]);
    expect(() => assertMatchesResponse('POST', '/api/users', 400, { message: 'x' })).toThrow(/error/);
  });

  it('fails loudly on names the contract does not have', () => {
    expect(() => contractErrors('Film', {})).toThrow(/no schema named Film/);
    expect(() => responseErrors('DELETE', '/api/movies', 200, [])).toThrow(/no operation DELETE/);
    expect(() => responseErrors('GET', '/api/movies', 404, {})).toThrow(/no JSON 404/);
  });
});
