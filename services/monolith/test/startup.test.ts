import { Writable } from 'node:stream';
import { StartupError } from '@cinemaabyss/service-kit';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { call, testConfig, useApp } from './helpers.js';

const app = useApp();

describe('health and start-up', () => {
  it('answers /health and /ready with {"status":true} while the database is up', async () => {
    const health = await call(app(), 'GET', '/health');
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: true });
    const ready = await call(app(), 'GET', '/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: true });
  });

  it('gives up on an unreachable database after the configured attempts, logging each one', async () => {
    const lines: { msg: string; attempt?: number }[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    // Port 1 on loopback: nothing listens there, so every connect is refused at once.
    const config = testConfig({
      DATABASE_URL: 'postgres://cinemaabyss:secret@127.0.0.1:1/cinemaabyss',
      DB_CONNECT_ATTEMPTS: '2',
    });
    const unreachable = await buildApp(config, { logger: { level: 'info', stream } });
    try {
      const started = unreachable.ready();
      await expect(started).rejects.toBeInstanceOf(StartupError);
      await expect(started).rejects.toThrow(
        /Cannot reach the database at 127\.0\.0\.1:1\/cinemaabyss after 2 attempts .*ECONNREFUSED.*DATABASE_URL/,
      );
    } finally {
      await unreachable.close();
    }
    const retries = lines.filter((line) => line.msg.includes('unreachable'));
    expect(retries.map((line) => line.msg)).toEqual([
      expect.stringMatching(
        /^database 127\.0\.0\.1:1\/cinemaabyss unreachable \(attempt 1\/2: ECONNREFUSED.*retrying in 250 ms$/,
      ),
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret');
  });
});
