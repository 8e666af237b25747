import pg from 'pg';

/** A movie as both databases can state it: the monolith's rows joined, the movies database's one row. */
export interface Aggregate {
  title: string;
  description: string;
  rating: number;
  genres: string[];
}

const GENRES = ['Drama', 'Crime', 'Action', 'Sci-Fi', 'Thriller'];

/**
 * A steady write load on the monolith, as its users and its operators make it: inserts through its HTTP API
 * (a movie and its genres in one transaction), updates and deletes in SQL. Writes go one at a time, paced at
 * `ratePerSecond`, on the load's own movies only (titles start with its tag). Every acknowledged write is
 * remembered as the state it leaves; a write that failed without an answer (a connection cut by a restart)
 * may or may not have committed, so its movie is `uncertain` and checked against the monolith instead.
 */
export class WriteLoad {
  readonly tag = `data-suite ${process.pid}-${Date.now()}`;
  /** Each movie's state after its last acknowledged write; null once deleted. */
  readonly expected = new Map<number, Aggregate | null>();
  readonly uncertain = new Set<number>();
  readonly counts = { inserts: 0, updates: 0, deletes: 0, failed: 0 };
  private running: Promise<void> | undefined;
  private stopping = false;
  private serial = 0;
  private readonly pool: pg.Pool;

  constructor(
    private readonly monolithUrl: string,
    databaseUrl: string,
  ) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 1,
      connectionTimeoutMillis: 2_000,
      query_timeout: 5_000,
    });
    // An idle connection cut by a PostgreSQL restart is an event, not a crash of the suite.
    this.pool.on('error', () => {});
  }

  /** Acknowledged writes so far. */
  get acknowledged(): number {
    return this.counts.inserts + this.counts.updates + this.counts.deletes;
  }

  start(ratePerSecond: number): void {
    if (this.running) throw new Error('the load is already running');
    this.stopping = false;
    const gapMs = 1_000 / ratePerSecond;
    this.running = (async () => {
      let next = Date.now();
      while (!this.stopping) {
        await this.write();
        next += gapMs;
        // Behind schedule (a slow write): go on at once, but never in a burst to catch up.
        next = Math.max(next, Date.now() - gapMs);
        const wait = next - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.running = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    if (!this.pool.ended) await this.pool.end();
  }

  /** Every movie the load wrote, deleted ones included. */
  ids(): number[] {
    return [...new Set([...this.expected.keys(), ...this.uncertain])].sort((a, b) => a - b);
  }

  private live(): number[] {
    return [...this.expected].filter(([id, movie]) => movie && !this.uncertain.has(id)).map(([id]) => id);
  }

  private async write(): Promise<void> {
    const live = this.live();
    const roll = Math.random();
    const id = live[Math.floor(Math.random() * live.length)];
    if (live.length < 10 || roll < 0.5 || id === undefined) return this.insert();
    if (roll < 0.85) return this.update(id);
    return this.remove(id);
  }

  private async insert(): Promise<void> {
    const n = ++this.serial;
    const movie: Aggregate = {
      title: `${this.tag} #${n}`,
      description: `Inserted through the monolith's API by tests/data (${n})`,
      rating: Math.round(Math.random() * 100) / 10,
      genres: [GENRES[n % GENRES.length]!, GENRES[(n + 2) % GENRES.length]!],
    };
    try {
      const response = await fetch(`${this.monolithUrl}/api/movies`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(movie),
        signal: AbortSignal.timeout(5_000),
      });
      if (response.status !== 201) {
        // Answered and refused (the database away): nothing committed.
        this.counts.failed++;
        return;
      }
      const { id } = (await response.json()) as { id: number };
      this.expected.set(id, movie);
      this.counts.inserts++;
    } catch {
      // No answer: the movie may exist; its title finds it when the suite checks (uncertainInserts).
      this.counts.failed++;
      this.unanswered.push(movie.title);
    }
  }

  /** Titles of inserts that got no answer at all. */
  readonly unanswered: string[] = [];

  private async update(id: number): Promise<void> {
    const before = this.expected.get(id);
    if (!before) return;
    const after = {
      ...before,
      title: `${this.tag} #${++this.serial} (updated)`,
      rating: Math.round(Math.random() * 100) / 10,
    };
    await this.sql(
      id,
      'UPDATE movies SET title = $2, rating = $3 WHERE id = $1',
      [id, after.title, after.rating],
      () => {
        this.expected.set(id, after);
        this.counts.updates++;
      },
    );
  }

  private async remove(id: number): Promise<void> {
    await this.sql(id, 'DELETE FROM movies WHERE id = $1', [id], () => {
      this.expected.set(id, null);
      this.counts.deletes++;
    });
  }

  private async sql(id: number, text: string, values: unknown[], done: () => void): Promise<void> {
    try {
      const result = await this.pool.query(text, values);
      if (result.rowCount !== 1) throw new Error(`${text}: ${result.rowCount} rows for movie ${id}`);
      done();
    } catch (error) {
      if (error instanceof Error && error.message.includes('rows for movie')) throw error;
      // Refused or cut off: committed or not, the monolith knows; the suite asks it.
      this.counts.failed++;
      this.uncertain.add(id);
    }
  }
}
