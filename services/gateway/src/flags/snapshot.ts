import { readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { type FlagValue, flagValueSchema } from '@cinemaabyss/admin-contract';
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';

export type Flags = Record<string, FlagValue>;

const snapshotSchema = z.strictObject({
  savedAt: z.iso.datetime(),
  flags: z.record(z.string(), flagValueSchema),
});

/**
 * The last flag values this gateway read from Redis, kept in a file (`FLAG_SNAPSHOT_FILE`) so that a
 * gateway starting while Redis is down routes on them instead of the env seed, and writes them back if
 * Redis then turns up empty. Writes run in the background, one at a time, and only when the values
 * differ from the file's; each replaces the file atomically (temp file, fsync, rename).
 */
export class SnapshotFile {
  private written: string | undefined;
  private pending: Flags | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Reads the file at start-up. A missing, unreadable or corrupt file is logged and yields no values. */
  load(): Flags {
    try {
      const result = snapshotSchema.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
      if (!result.success) throw new Error(z.prettifyError(result.error));
      this.written = JSON.stringify(result.data.flags);
      this.log.info(
        { file: this.path, savedAt: result.data.savedAt, flags: result.data.flags },
        'loaded the flag snapshot file: routing on it until Redis answers',
      );
      return result.data.flags;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.log.info({ file: this.path }, 'no flag snapshot file yet; it is written once Redis is read');
      } else {
        this.log.error(
          { file: this.path, err: error },
          'ignoring the flag snapshot file: it is unreadable or corrupt; it is rewritten once Redis is read',
        );
      }
      return {};
    }
  }

  /** Schedules writing `flags`; returns at once and never throws (a failed write is logged). */
  save(flags: Flags): void {
    this.pending = flags;
    this.writeNext();
  }

  /** Resolves once every scheduled write has finished. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private writeNext(): void {
    const flags = this.pending;
    if (this.writing || !flags) return;
    this.pending = undefined;
    this.writing = this.write(flags).finally(() => {
      this.writing = undefined;
      this.writeNext();
    });
  }

  private async write(flags: Flags): Promise<void> {
    const text = JSON.stringify(flags);
    if (text === this.written) return;
    const temp = `${this.path}.${process.pid}.tmp`;
    try {
      const file = await open(temp, 'w');
      try {
        await file.writeFile(`${JSON.stringify({ savedAt: new Date().toISOString(), flags }, null, 2)}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path);
      this.written = text;
      this.log.debug({ file: this.path, flags }, 'flag snapshot file written');
    } catch (error) {
      this.log.warn({ file: this.path, err: error }, 'could not write the flag snapshot file');
      await rm(temp, { force: true });
    }
  }
}
