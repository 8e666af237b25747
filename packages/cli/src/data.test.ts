import { describe, expect, it } from 'vitest';
import type { Context } from './command.js';
import { type DataStatus, describeData, formatBytes, watchData } from './data.js';
import { CliError } from './http.js';

const T0 = Date.parse('2026-12-08T03:00:00Z');

const status: DataStatus = {
  domain: 'movies',
  writes: 'monolith',
  source: { database: 'cinemaabyss', tables: ['movies', 'genres', 'movie_genres'] },
  target: { database: 'movies', table: 'movies' },
  connector: { name: 'cinemaabyss-movies', state: 'RUNNING' },
  lagMs: 64,
  lagP99Ms: 180,
  retainedWalBytes: 1_048_576,
  parity: {
    state: 'mismatch',
    checkedAt: '2026-12-08T03:00:00.000Z',
    rows: 100_000,
    mismatched: 1,
    missing: 0,
    extra: 0,
    sampleIds: [777, 778],
  },
  updatedAt: '2026-12-08T03:00:01.000Z',
};

describe('data status in words', () => {
  it('shows the copy, the connector, lag, WAL, the parity pass with its age and its sample', () => {
    expect(describeData(status, T0 + 12_000).split('\n')).toEqual([
      'domain     movies (writes: monolith)',
      'copy       cinemaabyss (movies, genres, movie_genres) → movies.movies',
      'connector  cinemaabyss-movies RUNNING',
      'lag        64ms (p99 180ms)',
      'wal        1.0 MiB retained',
      'parity     mismatch; 1 mismatched, 0 missing, 0 extra of 100000 rows; checked 03:00:00 UTC (12s ago)',
      'sample     777, 778',
      'updated    03:00:01 UTC',
    ]);
  });

  it('says what is not known yet instead of printing null, and keeps control characters off the terminal', () => {
    const text = describeData(
      {
        ...status,
        connector: { name: 'evil\x1b[2Jname', state: 'UNKNOWN' },
        lagMs: null,
        lagP99Ms: null,
        retainedWalBytes: null,
        parity: {
          state: 'unknown',
          checkedAt: null,
          rows: null,
          mismatched: null,
          missing: null,
          extra: null,
          sampleIds: [],
        },
      },
      T0,
    );
    expect(text).toContain('connector  evil?[2Jname UNKNOWN\n');
    expect(text).toContain('lag        not measured (p99 not measured)\n');
    expect(text).toContain('wal        no replication slot\n');
    expect(text).toContain('parity     unknown; no pass has finished yet\n');
    expect(text).not.toMatch(/null|sample/);
    expect(text).not.toContain('\x1b');
  });

  it('writes sizes in binary units', () => {
    expect([0, 1023, 1024, 1_048_576, 5 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.0 KiB',
      '1.0 MiB',
      '5.0 GiB',
    ]);
  });
});

describe('data status --watch off a terminal', () => {
  /** A context whose gateway answers `answers` in turn; stops the watch after the last one. */
  function fake(answers: Array<DataStatus | CliError>) {
    const out: string[] = [];
    const err: string[] = [];
    const stop = new AbortController();
    let calls = 0;
    const ctx = {
      call: async () => {
        const answer = answers[calls++]!;
        if (calls === answers.length) stop.abort();
        if (answer instanceof CliError) throw answer;
        return answer;
      },
      json: false,
      out: { isTTY: false, write: (text: string) => out.push(text) },
      err: { write: (text: string) => err.push(text) },
    } as unknown as Context;
    return { ctx, out, err, signal: stop.signal };
  }

  it('prints a line when something changed, not when only updatedAt did, and rides out a 503', async () => {
    const later = { ...status, updatedAt: '2026-12-08T03:00:02.000Z' };
    const lagging = { ...later, lagMs: 5_000 };
    const { ctx, out, err, signal } = fake([
      status,
      later,
      new CliError('data store (Redis) is unreachable (503)', 1, 503),
      lagging,
    ]);
    expect(await watchData(ctx, 'movies', { signal, everyMs: 1 })).toBe(0);
    expect(out).toEqual([
      '03:00:01 movies connector=RUNNING lag=64ms p99=180ms parity=mismatch mismatched=1\n',
      '03:00:02 movies connector=RUNNING lag=5s p99=180ms parity=mismatch mismatched=1\n',
    ]);
    expect(err).toEqual(['data store (Redis) is unreachable (503); still watching\n']);
  });

  it('ends on a 404: the status went away', async () => {
    const gone = new CliError('no data status for domain "movies" (404)', 1, 404);
    const { ctx } = fake([status, gone, status]);
    await expect(watchData(ctx, 'movies', { everyMs: 1 })).rejects.toBe(gone);
  });
});
