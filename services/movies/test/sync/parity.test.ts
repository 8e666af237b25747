import type { Database } from '@cinemaabyss/postgres';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { monolithAggregates, moviesAggregates } from '../../src/sync/parity/aggregates.js';
import { ParityChecker, type ParityOptions, type ParityReport } from '../../src/sync/parity/checker.js';
import type { Clock } from '../../src/sync/parity/row-budget.js';
import { movies, type ThrowAwayDatabases, throwAwayDatabases } from './databases.js';

// Real PostgreSQL on both sides (throw-away schemas, the monolith's read with the capture role); time is
// virtual: a sleep advances the clock at once, so pacing and lag windows are proven by counting, not timing.
const silent = { info() {}, warn() {} };
const N = 1_200;
let dbs: ThrowAwayDatabases;
let source: Database;
let target: Database;

beforeAll(async () => {
  dbs = await throwAwayDatabases();
  source = dbs.source();
  target = dbs.target();
}, 30_000);
afterAll(() => dbs?.drop());

beforeEach(async () => {
  await dbs.sourceSql('TRUNCATE movies, movie_genres');
  await dbs.targetSql('TRUNCATE movies');
  await dbs.insertSource(movies(N));
  await dbs.insertTarget(movies(N));
});

/** A clock whose sleeps advance it at once; `onSleep` runs first (the test's move during a wait). */
function virtualClock(onSleep: (ms: number) => Promise<void> | void = () => {}) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => now,
    async sleep(ms) {
      sleeps.push(ms);
      await onSleep(ms);
      now += ms;
    },
  };
  return { clock, sleeps };
}

function checker(options: Partial<ParityOptions> = {}) {
  return new ParityChecker({
    source: monolithAggregates(source),
    target: moviesAggregates(target),
    chunkSize: 100,
    rowsPerSecond: Number.POSITIVE_INFINITY,
    intervalMs: 3_600_000,
    lagMs: () => 0,
    recheckMarginMs: 500,
    maxRecheckDelayMs: 10_000,
    sampleSize: 5,
    log: silent,
    clock: virtualClock().clock,
    ...options,
  });
}

async function pass(options: Partial<ParityOptions> = {}): Promise<ParityReport> {
  const parity = checker(options);
  try {
    return await parity.requestPass('test');
  } finally {
    await parity.stop();
  }
}

describe('a full parity pass', () => {
  it('finds equal data equal, reading each row once a side and none twice', async () => {
    const report = await pass();
    expect(report).toMatchObject({
      state: 'ok',
      rows: N,
      mismatched: 0,
      missing: 0,
      extra: 0,
      sampleIds: [],
      settled: 0,
      rowsRead: { source: N, target: N },
    });
  });

  it('reports a row changed directly in the movies database as mismatched, with its id, in one pass', async () => {
    await dbs.targetSql("UPDATE movies SET title = title || ' (edited)' WHERE id = 777");
    await dbs.targetSql('UPDATE movies SET rating = 0.30000000000000004 WHERE id = 778 AND rating <> 0.3');
    await dbs.targetSql('UPDATE movies SET rating = 0.3 WHERE id = 778');
    await dbs.sourceSql('UPDATE movies SET rating = 0.30000000000000004 WHERE id = 778');
    const report = await pass();
    expect(report).toMatchObject({ state: 'mismatch', rows: N, mismatched: 2, missing: 0, extra: 0 });
    expect(report.samples.mismatched).toEqual([777, 778]);
    expect(report.sampleIds).toEqual([777, 778]);
  });

  it('reports a row only the monolith has as missing and one only the movies database has as extra', async () => {
    await dbs.targetSql('DELETE FROM movies WHERE id = 5');
    await dbs.insertTarget(movies(1, 50_000));
    const report = await pass();
    expect(report).toMatchObject({ state: 'mismatch', rows: N + 1, mismatched: 0, missing: 1, extra: 1 });
    expect(report.samples).toEqual({ mismatched: [], missing: [5], extra: [50_000] });
  });

  it('finds genres in another order a mismatch', async () => {
    await dbs.targetSql("UPDATE movies SET genres = ARRAY['Sci-Fi', 'Action'] WHERE id = 10");
    await dbs.sourceSql('DELETE FROM movie_genres WHERE movie_id = 10');
    await dbs.sourceSql(
      `INSERT INTO genres (name) VALUES ('Action'), ('Sci-Fi') ON CONFLICT DO NOTHING;
       INSERT INTO movie_genres (movie_id, genre_id, position)
       SELECT 10, id, CASE name WHEN 'Action' THEN 1 ELSE 2 END FROM genres WHERE name IN ('Action', 'Sci-Fi')`,
    );
    const report = await pass();
    expect(report).toMatchObject({ state: 'mismatch', mismatched: 1, sampleIds: [10] });

    await dbs.targetSql("UPDATE movies SET genres = ARRAY['Action', 'Sci-Fi'] WHERE id = 10");
    expect((await pass()).state).toBe('ok');
  });

  it('keeps counting past the sample: every difference counted, the lowest ids sampled', async () => {
    await dbs.targetSql("UPDATE movies SET description = 'x' WHERE id % 100 = 3");
    const report = await pass();
    expect(report.mismatched).toBe(N / 100);
    expect(report.sampleIds).toEqual([3, 103, 203, 303, 403]);
  });

  it('does not report a row the applier brings in line before the re-check after the lag window', async () => {
    // In flight: the monolith committed a new title, the applier has not applied it yet.
    await dbs.sourceSql("UPDATE movies SET title = 'Renamed in the monolith' WHERE id = 321");
    const { clock, sleeps } = virtualClock(async () => {
      await dbs.targetSql("UPDATE movies SET title = 'Renamed in the monolith' WHERE id = 321");
    });
    const report = await pass({ clock, lagMs: () => 2_000 });
    expect(report).toMatchObject({ state: 'ok', mismatched: 0, settled: 1 });
    // One wait: the lag plus the margin, before the re-check.
    expect(sleeps).toEqual([2_500]);
  });

  it('waits longer for a row in flight while the lag grows (an applier falling behind)', async () => {
    const lags = [2_000, 5_000];
    await dbs.sourceSql("UPDATE movies SET title = 'Applied late' WHERE id = 321");
    const { clock, sleeps } = virtualClock(async () => {
      // Applied only once the second, longer lag window has passed.
      if (sleeps.length === 2) await dbs.targetSql("UPDATE movies SET title = 'Applied late' WHERE id = 321");
    });
    const report = await pass({ clock, lagMs: () => lags[Math.min(sleeps.length, 1)] ?? null });
    expect(report).toMatchObject({ state: 'ok', mismatched: 0, settled: 1 });
    // The lag window as measured before the first wait, then its growth once measured again.
    expect(sleeps).toEqual([2_500, 3_000]);
  });

  it('reports a row the applier has not brought in line when the lag window has passed', async () => {
    await dbs.sourceSql("UPDATE movies SET title = 'Never applied' WHERE id = 321");
    const { clock, sleeps } = virtualClock();
    const report = await pass({ clock, lagMs: () => 2_000 });
    expect(report).toMatchObject({ state: 'mismatch', mismatched: 1, sampleIds: [321], settled: 0 });
    expect(sleeps).toEqual([2_500]);
  });

  it('gives a row whose source keeps changing another lag window, and reports it after maxRechecks', async () => {
    let edits = 0;
    await dbs.sourceSql("UPDATE movies SET title = 'Edit 0' WHERE id = 400");
    const { clock, sleeps } = virtualClock(async () => {
      await dbs.sourceSql('UPDATE movies SET title = $1 WHERE id = 400', [`Edit ${++edits}`]);
    });
    const report = await pass({ clock, lagMs: () => null, maxRecheckDelayMs: 4_000, maxRechecks: 3 });
    expect(report).toMatchObject({ state: 'mismatch', mismatched: 1, sampleIds: [400] });
    // The unknown lag waits the longest delay each time (asked for again every second): three looks, the
    // third one reports.
    expect(sleeps).toEqual(Array(12).fill(1_000));
  });

  it('re-checks a lag window after the lag becomes known, not the longest delay', async () => {
    // A restarted applier: nothing applied yet when the pass finds the row, then it catches up with a lag.
    let lag: number | null = null;
    await dbs.sourceSql("UPDATE movies SET title = 'Applied after a restart' WHERE id = 321");
    const { clock, sleeps } = virtualClock(async () => {
      lag = 2_000;
      await dbs.targetSql("UPDATE movies SET title = 'Applied after a restart' WHERE id = 321");
    });
    const report = await pass({ clock, lagMs: () => lag, maxRecheckDelayMs: 60_000 });
    expect(report).toMatchObject({ state: 'ok', mismatched: 0, settled: 1 });
    // One poll of the unknown lag, then the rest of the lag plus the margin from the first look.
    expect(sleeps).toEqual([1_000, 1_500]);
  });

  it('reports rows beyond maxSuspects at once, re-checking only the first ones', async () => {
    await dbs.sourceSql("UPDATE movies SET title = 'In flight' WHERE id IN (31, 32, 33)");
    const { clock } = virtualClock(async () => {
      await dbs.targetSql("UPDATE movies SET title = 'In flight' WHERE id IN (31, 32, 33)");
    });
    const report = await pass({ clock, maxSuspects: 2 });
    expect(report).toMatchObject({ state: 'mismatch', mismatched: 1, sampleIds: [33], settled: 2 });
  });

  it('reads at most rowsPerSecond (plus one chunk) from each database in any second of a pass', async () => {
    await dbs.targetSql("UPDATE movies SET title = 'drill down here' WHERE id = 150");
    const rowsPerSecond = 300;
    const chunkSize = 100;
    const { clock } = virtualClock();
    // Every read as the databases answered it, at the virtual time it happened.
    const reads: { side: string; at: number; rows: number }[] = [];
    const counted = (side: string, db: Database): Database => ({
      ...db,
      async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]) {
        const result = await db.query<R>(text, values);
        const first = result.rows[0] as { rows?: number } | undefined;
        const rows = text.includes('count(*)')
          ? (first?.rows ?? 0)
          : text.includes('md5')
            ? (result.rowCount ?? 0)
            : 0;
        reads.push({ side, at: clock.now(), rows });
        return result;
      },
    });
    const report = await pass({
      source: monolithAggregates(counted('source', source)),
      target: moviesAggregates(counted('target', target)),
      clock,
      chunkSize,
      rowsPerSecond,
    });
    expect(report).toMatchObject({ state: 'mismatch', mismatched: 1 });

    for (const side of ['source', 'target']) {
      const ofSide = reads.filter((read) => read.side === side);
      const total = ofSide.reduce((sum, read) => sum + read.rows, 0);
      // Every row once, the drilled-down chunk twice, the re-checked row once more.
      expect(total).toBe(N + chunkSize + 1);
      expect(report.rowsRead[side as 'source' | 'target']).toBe(total);
      for (const { at } of ofSide) {
        const inWindow = ofSide.filter((read) => read.at >= at && read.at < at + 1_000);
        expect(inWindow.reduce((sum, read) => sum + read.rows, 0)).toBeLessThanOrEqual(
          rowsPerSecond + chunkSize,
        );
      }
    }
    // And it was paced, not merely lucky: the pass took about as long as the budget demands.
    expect(report.durationMs).toBeGreaterThanOrEqual(
      ((N + chunkSize + 1 - chunkSize) * 1_000) / rowsPerSecond,
    );
  });
});

describe('passes on demand and on a schedule', () => {
  it('never overlaps two passes: requests during one share the next, which starts after it', async () => {
    const parity = checker({ clock: undefined });
    try {
      const first = parity.requestPass('first');
      const second = parity.requestPass('second');
      const third = parity.requestPass('third');
      expect(third).toBe(second);
      const [a, b] = await Promise.all([first, second]);
      expect(a.reason).toBe('first');
      expect(b.reason).toBe('second');
      expect(Date.parse(b.startedAt)).toBeGreaterThanOrEqual(Date.parse(a.checkedAt));
      expect(parity.lastReport).toBe(b);
    } finally {
      await parity.stop();
    }
  });

  it('runs a pass at start and the next one intervalMs after each ends, reporting each', async () => {
    const reports: ParityReport[] = [];
    const parity = checker({ clock: undefined, intervalMs: 200, onReport: (report) => reports.push(report) });
    parity.start();
    try {
      const deadline = Date.now() + 10_000;
      while (reports.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(reports.map((report) => report.reason).slice(0, 3)).toEqual(['start', 'schedule', 'schedule']);
      // A timer may fire a few ms early against Date.now() (libuv caches the loop's time): allow for that.
      for (let i = 1; i < 3; i++)
        expect(Date.parse(reports[i]!.startedAt)).toBeGreaterThanOrEqual(
          Date.parse(reports[i - 1]!.checkedAt) + 150,
        );
    } finally {
      await parity.stop();
    }
  });

  it('reports a failed pass and keeps the last report', async () => {
    const failures: unknown[] = [];
    const broken: Database = { ...target, query: () => Promise.reject(new Error('database unavailable')) };
    const parity = checker({ target: moviesAggregates(broken), onFailure: (error) => failures.push(error) });
    try {
      await expect(parity.requestPass('test')).rejects.toThrow('database unavailable');
      expect(failures).toHaveLength(1);
      expect(parity.lastReport).toBeUndefined();
    } finally {
      await parity.stop();
    }
    await expect(parity.requestPass('after stop')).rejects.toThrow('stopped');
  });
});
