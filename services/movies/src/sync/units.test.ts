import { describe, expect, it } from 'vitest';
import { StreamWriter } from '../../test/debezium.js';
import { decode } from './changes.js';
import { type Unit, UnitAssembler } from './units.js';

/** Pushes `messages` from offset 0 and returns the units completed, with what is committable after each. */
function assemble(messages: (string | undefined)[], batch = 100) {
  const assembler = new UnitAssembler(batch);
  const units: Unit[] = [];
  messages.forEach((message, offset) => {
    units.push(...assembler.push(BigInt(offset), message === undefined ? undefined : decode(message)));
  });
  return { assembler, units };
}

const movie = (id: number) => ({ id, title: `M${id}`, description: '', rating: 1 });

describe('UnitAssembler', () => {
  it('makes each BEGIN..END one unit, and commits only past a closed transaction', () => {
    const writer = new StreamWriter(() => 1);
    writer.tx([
      ['c', 'movies', movie(1)],
      ['c', 'movie_genres', { movie_id: 1, genre_id: 1, position: 1 }],
    ]);
    writer.tx([['u', 'movies', movie(1)]]);
    const open = assemble(writer.messages.slice(0, 6));
    expect(open.units.map((u) => [u.kind, u.changes.length, u.lastOffset])).toEqual([['transaction', 2, 3n]]);
    // The second transaction is open: a restart must read it again from its BEGIN (offset 4).
    expect(open.assembler.committable()).toBe(4n);
    const all = assemble(writer.messages);
    expect(all.units).toHaveLength(2);
    // Each carries its END's commit position, after every change of it.
    expect(all.units.map((u) => u.commitLsn)).toEqual([1024n, 1040n]);
    expect(all.assembler.committable()).toBe(7n);
  });

  it('batches snapshot reads, and closes the batch at the snapshot end', () => {
    const writer = new StreamWriter(() => 1);
    writer.snapshot([1, 2, 3, 4, 5].map((id) => ['movies', movie(id)]));
    const { assembler, units } = assemble(writer.messages, 2);
    expect(units.map((u) => [u.kind, u.changes.length])).toEqual([
      ['snapshot', 2],
      ['snapshot', 2],
      ['snapshot', 1],
    ]);
    expect(units[2]?.changes[0]?.snapshotEnd).toBe(true);
    expect(assembler.flush()).toEqual([]);
  });

  it('hands a partial snapshot batch over at the end of a fetch', () => {
    const writer = new StreamWriter(() => 1);
    writer.snapshot([1, 2, 3].map((id) => ['movies', movie(id)]));
    const { assembler, units } = assemble(writer.messages.slice(0, 2));
    expect(units).toEqual([]);
    expect(assembler.committable()).toBeUndefined();
    expect(assembler.flush().map((u) => u.changes.length)).toEqual([2]);
    expect(assembler.committable()).toBe(2n);
  });

  it('keeps a skipped malformed message inside its transaction, and commits past one outside', () => {
    const writer = new StreamWriter(() => 1);
    writer.tx([['c', 'movies', movie(1)]]);
    const [b, c, e] = writer.messages;
    const { assembler, units } = assemble([undefined, b, undefined, c, e]);
    expect(units.map((u) => u.changes.length)).toEqual([1]);
    expect(assembler.committable()).toBe(5n);
    expect(assemble([undefined]).assembler.committable()).toBe(1n);
  });

  it('starting inside a transaction, applies its rest up to the END; a lost END closes at the next BEGIN', () => {
    const writer = new StreamWriter(() => 1);
    writer.tx([
      ['c', 'movies', movie(1)],
      ['c', 'movies', movie(2)],
    ]);
    writer.tx([['c', 'movies', movie(3)]]);
    const fromMiddle = assemble(writer.messages.slice(2));
    expect(fromMiddle.units.map((u) => u.changes.map((c) => (c.row as { id: number }).id))).toEqual([
      [2],
      [3],
    ]);
    const withoutEnd = writer.messages.filter((_, i) => i !== 3);
    expect(assemble(withoutEnd).units.map((u) => u.changes.length)).toEqual([2, 1]);
  });

  it('an END alone (a transaction with nothing captured) is a unit that only measures lag', () => {
    const writer = new StreamWriter(() => 42);
    writer.tx([]);
    const { units } = assemble(writer.messages);
    expect(units).toEqual([
      { kind: 'transaction', changes: [], endTsMs: 42, commitLsn: 1008n, lastOffset: 1n },
    ]);
  });

  it('forgets an open transaction on reset', () => {
    const writer = new StreamWriter(() => 1);
    writer.tx([['c', 'movies', movie(1)]]);
    const { assembler } = assemble(writer.messages.slice(0, 2));
    assembler.reset();
    expect(assembler.committable()).toBeUndefined();
    expect(assembler.lastOffset).toBeUndefined();
  });
});
