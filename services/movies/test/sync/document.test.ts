import { describe, expect, it } from 'vitest';
import { databaseName, statusDocument } from '../../src/sync/status/document.js';

const parts = {
  domain: 'movies',
  sourceDatabase: 'cinemaabyss',
  targetDatabase: 'movies',
  connector: 'UNKNOWN' as const,
  lag: { lagMs: null, lagP99Ms: null },
  retainedWalBytes: null,
  now: new Date('2026-01-01T00:00:00Z'),
};

describe('statusDocument', () => {
  it('says unknown, with nulls rather than zeros, until a parity pass has finished', () => {
    expect(statusDocument({ ...parts, parity: undefined })).toEqual({
      domain: 'movies',
      writes: 'monolith',
      source: { database: 'cinemaabyss', tables: ['movies', 'genres', 'movie_genres'] },
      target: { database: 'movies', table: 'movies' },
      connector: { name: 'cinemaabyss-movies', state: 'UNKNOWN' },
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
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
  });
});

describe('databaseName', () => {
  it('names the database of a URL without its host, options or credentials', () => {
    expect(databaseName('postgres://cinemaabyss_cdc:secret@db:5432/cinemaabyss?options=-c%20x')).toBe(
      'cinemaabyss',
    );
    expect(databaseName('postgresql://u@db')).toBe('u');
  });
});
