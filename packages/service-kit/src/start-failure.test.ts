import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from './config.js';
import { describeError, StartupError, startFailureMessage } from './start-failure.js';

/** What app.ready() rejects with when an onReady hook resolves with `value` (Fastify's own behaviour). */
async function readyFailure(value: unknown): Promise<unknown> {
  const app = Fastify();
  app.addHook('onReady', async () => value);
  try {
    await app.ready();
    return 'ready';
  } catch (error) {
    return error;
  } finally {
    await app.close().catch(() => {});
  }
}

describe('startFailureMessage', () => {
  const step = 'getting ready (plugins and onReady hooks: dependencies, migrations)';

  it('names the step and the value when an onReady hook resolves with a list (issue 25)', async () => {
    const error = await readyFailure(['001.do.create-tables.sql', '002.do.seed.sql']);
    expect(error).toEqual(['001.do.create-tables.sql', '002.do.seed.sql']);
    const message = startFailureMessage(step, error);
    expect(message).toMatch(
      /^Failed to start: getting ready \(.*\) failed: \[ '001\.do\.create-tables\.sql', '002/,
    );
    expect(message).toContain('must resolve to nothing');
  });

  it('is never empty, even for an empty list or an Error without a message', async () => {
    const emptyList = startFailureMessage(step, await readyFailure([]));
    expect(emptyList).toMatch(/failed: \[\] \(a value that is not an Error/);
    const bare = startFailureMessage('building the app', new TypeError());
    expect(bare.split('\n')[0]).toBe('Failed to start: building the app failed: TypeError without a message');
    expect(bare.split('\n')[1]).toMatch(/^\s+at /);
  });

  it('lists the inner errors of an AggregateError (what a refused dual-stack connect throws)', () => {
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    const error = Object.assign(new AggregateError([refused('::1:6379'), refused('127.0.0.1:6379')]), {
      code: 'ECONNREFUSED',
    });
    expect(startFailureMessage('listening on 0.0.0.0:8000', error).split('\n')[0]).toBe(
      'Failed to start: listening on 0.0.0.0:8000 failed: AggregateError without a message (ECONNREFUSED) ' +
        '[Error: connect ECONNREFUSED ::1:6379; Error: connect ECONNREFUSED 127.0.0.1:6379]',
    );
  });

  it("follows the cause and keeps the operator's own errors as they are, without a stack", () => {
    const wrapped = new Error('loading routes', {
      cause: Object.assign(new Error('no such file'), { code: 'ENOENT' }),
    });
    expect(describeError(wrapped)).toBe('Error: loading routes, caused by Error: no such file (ENOENT)');
    const startup = new StartupError('Cannot reach the database at 127.0.0.1:1/x after 2 attempts');
    expect(startFailureMessage(step, startup)).toBe(startup.message);
    let config: unknown;
    try {
      loadConfig(z.object({ PORT: z.coerce.number().int() }), { PORT: 'x' });
    } catch (error) {
      config = error;
    }
    expect(config).toBeInstanceOf(ConfigError);
    expect(startFailureMessage('reading the configuration', config)).toMatch(
      /^Invalid configuration:\n {2}PORT: /,
    );
  });
});
