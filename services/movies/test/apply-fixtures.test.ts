import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyUnit } from '../src/sync/apply.js';
import { decode } from '../src/sync/changes.js';
import { type Unit, UnitAssembler } from '../src/sync/units.js';
import { throwAwaySchema } from './helpers.js';

// The applier on the connector's real messages (fixtures/debezium/, recorded from the running connector),
// into a schema of its own in the movies database.

type Recorded = { key: unknown; value: Record<string, unknown> }[];
const fixture = (name: string): Recorded =>
  JSON.parse(readFileSync(new URL(`fixtures/debezium/${name}.json`, import.meta.url), 'utf8'));

/** The recorded snapshot, with the genre its links name (Drama, id 7) read like the genre it holds. */
function snapshot(): Recorded {
  const reads = fixture('snapshot');
  const genre = reads.find((m) => (m.value.source as { table: string }).table === 'genres');
  if (!genre) throw new Error('snapshot.json holds no genre read');
  const drama = structuredClone(genre);
  drama.value.after = { id: 7, name: 'Drama' };
  (drama.value.source as { snapshot: string }).snapshot = 'true';
  return [...reads.slice(0, -1), drama, ...reads.slice(-1)];
}

let offset = 0n;
/** Assembles recorded messages (continuing the offsets) into units, as movies-sync does. */
function units(messages: Recorded): Unit[] {
  const assembler = new UnitAssembler(2);
  const done = messages.flatMap((m) => assembler.push(offset++, decode(JSON.stringify(m.value))));
  return [...done, ...assembler.flush()];
}

let target: Awaited<ReturnType<typeof throwAwaySchema>>;
let pool: pg.Pool;
const apply = async (messages: Recorded) => {
  for (const unit of units(messages)) await applyUnit(pool, unit);
};
const served = async () =>
  (await pool.query('SELECT id, title, description, rating, genres FROM movies ORDER BY id')).rows;

beforeAll(async () => {
  target = await throwAwaySchema('apply_fixtures');
  pool = new pg.Pool({ connectionString: target.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await target?.drop();
});

describe("applying the connector's recorded messages", () => {
  const shawshank = {
    id: 1,
    title: 'The Shawshank Redemption',
    description:
      'Two imprisoned men bond over a number of years, finding solace and eventual redemption through acts of common decency.',
    rating: 9.3,
    genres: ['Drama'],
  };
  const inserted = {
    id: 77,
    title: 'CDC Fixture Movie',
    description: 'Recorded for the applier tests',
    rating: 7.5,
    genres: ['Drama', 'CDC Fixture Genre'],
  };
  const updated = { ...inserted, description: 'Updated in SQL for the applier tests', rating: 8.1 };

  it('serves the snapshot once it is complete, in batches before that', async () => {
    const reads = snapshot();
    const [first, ...rest] = units(reads);
    await applyUnit(pool, first as Unit);
    expect(await served()).toEqual([]);
    for (const unit of rest) await applyUnit(pool, unit);
    // Movie 73's link is in the snapshot but not the movie: nothing to serve for it.
    expect(await served()).toEqual([shawshank]);
  });

  it('applies a movie inserted with a new genre as one unit, then its update', async () => {
    const [unit] = units(fixture('insert-movie-with-genres'));
    expect(unit?.changes).toHaveLength(4);
    await applyUnit(pool, unit as Unit);
    expect(await served()).toEqual([shawshank, inserted]);
    await apply(fixture('update'));
    expect(await served()).toEqual([shawshank, updated]);
  });

  it('never lets a replayed older change overwrite a newer one', async () => {
    await apply(fixture('insert-movie-with-genres'));
    expect(await served()).toEqual([shawshank, updated]);
  });

  it('applies the delete with its cascaded links, and a replayed insert does not revive the movie', async () => {
    await apply(fixture('delete'));
    expect(await served()).toEqual([shawshank]);
    await apply([...fixture('insert-movie-with-genres'), ...fixture('update')]);
    expect(await served()).toEqual([shawshank]);
    const { rows } = await pool.query('SELECT deleted FROM source_movie_genres WHERE movie_id = 77');
    expect(rows).toEqual([{ deleted: true }, { deleted: true }]);
  });

  it('keeps the identity above every id copied, and takes heartbeats as lag only', async () => {
    const [heartbeat] = units(fixture('heartbeat'));
    expect(heartbeat).toMatchObject({ endTsMs: 1796698436586, changes: [{ table: 'other' }] });
    const applied = await applyUnit(pool, heartbeat as Unit);
    expect(applied).toEqual({ rows: { movies: 0, genres: 0, movie_genres: 0 }, refreshed: 0 });
    const { rows } = await pool.query("SELECT nextval(pg_get_serial_sequence('movies', 'id'))::int AS next");
    expect(rows[0].next).toBe(78);
  });
});
