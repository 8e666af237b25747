import { StartupError } from '@cinemaabyss/service-kit';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  describeTarget,
  invalidInputError,
  retryDelay,
  retryUntilReachable,
  unavailableError,
} from './database.js';

function recordingLog() {
  const lines: string[] = [];
  return {
    lines,
    log: {
      info: (_: object, msg: string) => lines.push(msg),
      warn: (_: object, msg: string) => lines.push(msg),
    },
  };
}

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('retryUntilReachable', () => {
  it('backs off exponentially up to the cap, logging one line per failed attempt', async () => {
    const { lines, log } = recordingLog();
    const slept: number[] = [];
    let calls = 0;
    const probe = async () => {
      calls++;
      if (calls < 5) throw refused;
    };
    await retryUntilReachable(probe, 'db:5432/app', log, {
      attempts: 6,
      initialDelayMs: 100,
      maxDelayMs: 500,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    expect(calls).toBe(5);
    expect(slept).toEqual([100, 200, 400, 500]);
    expect(lines[0]).toBe(
      'database db:5432/app unreachable (attempt 1/6: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:5432), retrying in 100 ms',
    );
    expect(lines.at(-1)).toBe('database db:5432/app reachable');
  });

  it('ends with a StartupError telling the operator what to check', async () => {
    const { log } = recordingLog();
    const attempt = retryUntilReachable(() => Promise.reject(refused), 'db:5432/app', log, {
      attempts: 3,
      initialDelayMs: 1,
      maxDelayMs: 1,
      sleep: async () => {},
    });
    await expect(attempt).rejects.toBeInstanceOf(StartupError);
    await expect(attempt).rejects.toThrow(/db:5432\/app after 3 attempts .*ECONNREFUSED.*DATABASE_URL/);
  });

  it('computes delays from the attempt number', () => {
    const options = { attempts: 10, initialDelayMs: 250, maxDelayMs: 5000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelay(attempt, options))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
  });
});

describe('describeTarget', () => {
  it('shows host, port and database, never the credentials', () => {
    expect(describeTarget('postgres://user:secret@db.internal:6432/movies')).toBe('db.internal:6432/movies');
    expect(describeTarget('postgresql://user:secret@db/movies')).toBe('db:5432/movies');
  });
});

describe('unavailableError', () => {
  const serverError = (code: string) => Object.assign(new pg.DatabaseError('boom', 0, 'error'), { code });

  it('maps connection failures and server unavailability to 503, a statement timeout to 504', () => {
    expect(unavailableError(refused)?.statusCode).toBe(503);
    expect(unavailableError(new Error('timeout exceeded when trying to connect'))?.statusCode).toBe(503);
    expect(unavailableError(new Error('Connection terminated unexpectedly'))?.statusCode).toBe(503);
    expect(unavailableError(serverError('57P01'))?.statusCode).toBe(503); // admin shutdown
    expect(unavailableError(serverError('53300'))?.statusCode).toBe(503); // too many connections
    expect(unavailableError(serverError('08006'))?.statusCode).toBe(503);
    expect(unavailableError(serverError('57014'))?.statusCode).toBe(504);
  });

  it('leaves data errors and bugs alone', () => {
    expect(unavailableError(serverError('23505'))).toBeUndefined();
    expect(unavailableError(serverError('42P01'))).toBeUndefined();
    expect(unavailableError(new TypeError('x is undefined'))).toBeUndefined();
  });
});

describe('invalidInputError', () => {
  const serverError = (code: string, message = 'boom') =>
    Object.assign(new pg.DatabaseError(message, 0, 'error'), { code });

  it('turns values PostgreSQL refuses into a 400 that says why', () => {
    const error = invalidInputError(serverError('22008', 'date/time field value out of range: "0000-01-01"'));
    expect(error?.statusCode).toBe(400);
    expect(error?.message).toBe('invalid input: date/time field value out of range: "0000-01-01"');
    expect(invalidInputError(serverError('23514'))?.statusCode).toBe(400);
  });

  it('leaves key violations to the caller and everything else alone', () => {
    expect(invalidInputError(serverError('23505'))).toBeUndefined();
    expect(invalidInputError(serverError('23503'))).toBeUndefined();
    expect(invalidInputError(refused)).toBeUndefined();
  });
});
