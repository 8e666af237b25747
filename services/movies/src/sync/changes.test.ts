import { describe, expect, it } from 'vitest';
import { begin, change, end, read } from '../../test/debezium.js';
import { type Change, decode, MalformedMessage, type Version, versionOf } from './changes.js';

const at = { lsn: 5_000, lastCommit: 4_000, tsMs: 1_765_000_000_000 };

describe('decode', () => {
  it('reads transaction markers', () => {
    expect(decode(begin('571:5000', 7))).toEqual({
      kind: 'begin',
      txId: '571:5000',
      tsMs: 7,
      eventCount: null,
      lsn: 5000n,
    });
    // The END's position is the transaction's commit position.
    expect(decode(end('571:5080', 3, 8))).toMatchObject({ kind: 'end', eventCount: 3, lsn: 5080n });
  });

  it('reads an insert with its transaction, commit time and position', () => {
    const row = { id: 4, title: 'T', description: 'd', rating: 8.5 };
    expect(decode(change('c', 'movies', row, at, '571:5000'))).toEqual({
      kind: 'change',
      table: 'movies',
      deleted: false,
      row,
      txId: '571:5000',
      sourceTsMs: at.tsMs,
      lsn: 5_000n,
      snapshot: false,
      snapshotEnd: false,
    });
  });

  it('marks snapshot reads and the last of them', () => {
    const first = decode(read('genres', { id: 1, name: 'Drama' }, at, 'first'));
    const last = decode(read('genres', { id: 2, name: 'Crime' }, at, 'last'));
    expect(first).toMatchObject({ snapshot: true, snapshotEnd: false, txId: null });
    expect(last).toMatchObject({
      snapshot: true,
      snapshotEnd: true,
    });
  });

  it('takes only the key of a delete, and keeps other tables as "other"', () => {
    expect(decode(change('d', 'movie_genres', { movie_id: 4, genre_id: 2 }, at, 'x'))).toMatchObject({
      table: 'movie_genres',
      deleted: true,
      row: { movie_id: 4, genre_id: 2 },
    });
    expect(decode(change('u', 'cdc_heartbeat', { id: 1, beat_at: 'now' }, at, 'x'))).toMatchObject({
      table: 'other',
      row: null,
    });
  });

  it('orders by commit position: a change committed after the snapshot is newer whatever its own position', () => {
    const snapshot = decode(read('movies', { id: 1, title: 'T', description: '', rating: 1 }, at)) as Change;
    // Begun before the snapshot (position 4 000 < 5 000), committed after it (5 100).
    const early = { ...at, lsn: 4_000 };
    const late = decode(
      change('u', 'movies', { id: 1, title: 'U', description: '', rating: 1 }, early, 'x'),
    ) as Change;
    const order = (v: Version) => [v.commitLsn, v.changeLsn];
    expect(order(versionOf(snapshot, null))).toEqual([5_000n, 0n]);
    expect(order(versionOf(late, 5_100n))).toEqual([5_100n, 4_000n]);
    // Without its END the change's own position stands in.
    expect(order(versionOf(late, null))).toEqual([4_000n, 4_000n]);
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['a tombstone', null, /empty message/],
    ['an unknown op', JSON.stringify({ op: 'x', before: null, after: {}, source: {} }), /op/],
    [
      'a movie without a title',
      change('c', 'movies', { id: 1, description: 'd', rating: 1 }, at, 'x'),
      /movies row: title/,
    ],
    ['a marker without an id', JSON.stringify({ status: 'END', ts_ms: 1 }), /transaction marker: id/],
  ])('refuses %s, naming the problem', (_case, value, message) => {
    expect(() => decode(value)).toThrow(MalformedMessage);
    expect(() => decode(value)).toThrow(message);
  });
});
