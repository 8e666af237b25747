import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotFile } from './snapshot.js';

interface Line {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that keeps what it was given, so a test can ask what an operator would read. */
function recordingLogger(): FastifyBaseLogger & { lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message = '') =>
      lines.push({ level, fields, message });
  const logger = {
    lines,
    level: 'debug',
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
    silent: () => {},
    child: () => logger,
  };
  return logger as unknown as FastifyBaseLogger & { lines: Line[] };
}

describe('the flag snapshot file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-flag-snapshot-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const flags = {
    movies: { enabled: true, percent: 50, allow: ['tester-1'], deny: [] },
    users: { enabled: false, percent: 0, allow: [], deny: ['vip-2'] },
  };

  it('is written whole by rename, leaves no temp file, and is read back by the next start', async () => {
    const path = join(dir, 'written.json');
    const file = new SnapshotFile(path, recordingLogger());
    file.save({ movies: { enabled: true, percent: 10, allow: [], deny: [] } });
    file.save(flags);
    await file.flush();
    const stored = JSON.parse(await readFile(path, 'utf8'));
    expect(stored.flags).toEqual(flags);
    expect(Number.isNaN(Date.parse(stored.savedAt))).toBe(false);
    expect(await readdir(dir)).toEqual(['written.json']);
    expect(new SnapshotFile(path, recordingLogger()).load()).toEqual(flags);
  });

  it('reads a file written before allow and deny existed as empty lists', async () => {
    const path = join(dir, 'old.json');
    await writeFile(
      path,
      JSON.stringify({ savedAt: new Date().toISOString(), flags: { movies: { enabled: true, percent: 5 } } }),
    );
    expect(new SnapshotFile(path, recordingLogger()).load()).toEqual({
      movies: { enabled: true, percent: 5, allow: [], deny: [] },
    });
  });

  it.each([
    ['not JSON', 'garbage.json', '{"savedAt": "2026-12-01T00:00:00.000Z", "fl', /JSON/],
    [
      'an impossible percent',
      'percent.json',
      JSON.stringify({
        savedAt: '2026-12-01T00:00:00.000Z',
        flags: { movies: { enabled: true, percent: 150 } },
      }),
      /flags\.movies\.percent/,
    ],
    ['another shape', 'shape.json', JSON.stringify({ movies: 50 }), /savedAt/],
  ])(
    'ignores a file holding %s, logging an error that names the file and the problem',
    async (_what, name, text, problem) => {
      const path = join(dir, name);
      await writeFile(path, text);
      const log = recordingLogger();
      expect(new SnapshotFile(path, log).load()).toEqual({});
      const errors = log.lines.filter((line) => line.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]!.fields.file).toBe(path);
      expect(String(errors[0]!.fields.err)).toMatch(problem);
      expect(errors[0]!.message).toMatch(/ignoring the flag snapshot file/);
    },
  );

  it('ignores an unreadable path and a missing file without throwing', async () => {
    const directory = join(dir, 'a-directory');
    await mkdir(directory);
    const log = recordingLogger();
    expect(new SnapshotFile(directory, log).load()).toEqual({});
    expect(new SnapshotFile(join(dir, 'missing.json'), log).load()).toEqual({});
    expect(log.lines.map((line) => [line.level, line.fields.file])).toEqual([
      ['error', directory],
      ['info', join(dir, 'missing.json')],
    ]);
  });

  it('logs a write it cannot make and keeps going', async () => {
    const path = join(dir, 'no-such-directory', 'flags.json');
    const log = recordingLogger();
    const file = new SnapshotFile(path, log);
    file.save(flags);
    await file.flush();
    expect(log.lines.filter((line) => line.level === 'warn').map((line) => line.fields.file)).toEqual([path]);
  });
});
