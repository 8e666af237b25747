import type { ParityReport } from '../parity/checker.js';
import type { ConnectorState } from './connector.js';

/** The Debezium connector and its replication slot (docs/data.md): names fixed by deploy/connect. */
export const CONNECTOR_NAME = 'cinemaabyss-movies';
export const REPLICATION_SLOT = 'cinemaabyss_movies';

/**
 * Replication lag as the applier measures it: commit in the monolith to applied in the movies database, now
 * and its p99 over the recent window, in ms; null before any measurement. (The applier's LagTracker.)
 */
export interface Lag {
  lagMs(): number | null;
  lagP99Ms(): number | null;
}

/**
 * The movies data's status as operators see it (`GET /admin/data/movies` on the gateway serves this
 * document from Redis). No URL and no credential goes in: database names only.
 */
export interface DataStatus {
  domain: string;
  writes: 'monolith';
  source: { database: string; tables: string[] };
  target: { database: string; table: string };
  connector: { name: string; state: ConnectorState };
  lagMs: number | null;
  lagP99Ms: number | null;
  retainedWalBytes: number | null;
  parity: {
    state: 'ok' | 'mismatch' | 'unknown';
    checkedAt: string | null;
    rows: number | null;
    mismatched: number | null;
    missing: number | null;
    extra: number | null;
    sampleIds: number[];
  };
  updatedAt: string;
}

export interface StatusParts {
  domain: string;
  sourceDatabase: string;
  targetDatabase: string;
  connector: ConnectorState;
  lag: { lagMs: number | null; lagP99Ms: number | null };
  retainedWalBytes: number | null;
  /** The last finished parity pass; undefined (state unknown) until one has finished. */
  parity: ParityReport | undefined;
  now: Date;
}

/** The document, from what was just measured. */
export function statusDocument(parts: StatusParts): DataStatus {
  const { parity } = parts;
  return {
    domain: parts.domain,
    writes: 'monolith',
    source: { database: parts.sourceDatabase, tables: ['movies', 'genres', 'movie_genres'] },
    target: { database: parts.targetDatabase, table: 'movies' },
    connector: { name: CONNECTOR_NAME, state: parts.connector },
    lagMs: parts.lag.lagMs,
    lagP99Ms: parts.lag.lagP99Ms,
    retainedWalBytes: parts.retainedWalBytes,
    parity: parity
      ? {
          state: parity.state,
          checkedAt: parity.checkedAt,
          rows: parity.rows,
          mismatched: parity.mismatched,
          missing: parity.missing,
          extra: parity.extra,
          sampleIds: parity.sampleIds,
        }
      : {
          state: 'unknown',
          checkedAt: null,
          rows: null,
          mismatched: null,
          missing: null,
          extra: null,
          sampleIds: [],
        },
    updatedAt: parts.now.toISOString(),
  };
}

/** A database's name from its connection URL, without host or credentials (libpq's default: the user's). */
export function databaseName(url: string): string {
  const { pathname, username } = new URL(url);
  return decodeURIComponent(pathname.replace(/^\//, '') || username) || 'postgres';
}
