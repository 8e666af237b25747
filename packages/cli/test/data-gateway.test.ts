import type { DataStatus } from '@cinemaabyss/admin-contract';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  cli,
  expectRefusal,
  type Gateway,
  REDIS_URL,
  startCli,
  startGateway,
  uniqueFlag,
  waitFor,
} from './helpers.js';

// The data commands run as a process against a real gateway and Redis; the test writes the status
// document as the movies-sync would, under a domain of its own (named like its flag, so the gateway's
// cleanup removes it).

const document = (domain: string, lagMs: number): DataStatus => ({
  domain,
  writes: 'monolith',
  source: { database: 'cinemaabyss', tables: ['movies', 'genres', 'movie_genres'] },
  target: { database: 'movies', table: 'movies' },
  connector: { name: 'cinemaabyss-movies', state: 'RUNNING' },
  lagMs,
  lagP99Ms: 180,
  retainedWalBytes: 2_097_152,
  parity: {
    state: 'ok',
    checkedAt: new Date().toISOString(),
    rows: 100_000,
    mismatched: 0,
    missing: 0,
    extra: 0,
    sampleIds: [],
  },
  updatedAt: new Date().toISOString(),
});

describe('cinemaabyss data, run as a process against a real gateway and Redis', () => {
  const domain = uniqueFlag();
  const key = `cinemaabyss:data:${domain}`;
  const redis = new Redis(REDIS_URL);
  let gateway: Gateway;
  let env: Record<string, string>;

  beforeAll(async () => {
    gateway = await startGateway(domain);
    env = { CINEMAABYSS_GATEWAY: gateway.url, CINEMAABYSS_TOKEN: ADMIN_TOKEN };
  });
  afterAll(async () => {
    await gateway.close();
    redis.disconnect();
  });

  it('prints the status in words, or as the JSON the gateway answered', async () => {
    await redis.set(key, JSON.stringify(document(domain, 64)), 'PX', 30_000);
    const human = await cli(['data', 'status', domain], env);
    expect(human).toMatchObject({ code: 0, stderr: '' });
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`domain     ${domain} (writes: monolith)`);
    expect(lines).toContain('connector  cinemaabyss-movies RUNNING');
    expect(lines).toContain('lag        64ms (p99 180ms)');
    expect(lines).toContain('wal        2.0 MiB retained');
    expect(lines.find((line) => line.startsWith('parity'))).toMatch(
      /^parity {5}ok; 0 mismatched, 0 missing, 0 extra of 100000 rows; checked \d\d:\d\d:\d\d UTC \(\d+(ms|s) ago\)$/,
    );

    const json = await cli(['data', 'status', domain, '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse((await redis.get(key))!));
  });

  it('says so when the domain has no status', async () => {
    const other = uniqueFlag();
    expectRefusal(
      await cli(['data', 'status', other], env),
      `no data status for domain "${other}": its sync process publishes one every second or two, and none is in Redis (the process is not running, or the domain is unknown) (404)`,
    );
  });

  it('asks for a pass: exit 0 when a sync process heard it, 1 when none did', async () => {
    const subscriber = new Redis(REDIS_URL);
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(`${key}:verify`);
    try {
      const heard = await cli(['data', 'verify', domain], env);
      expect(heard).toMatchObject({ code: 0, stderr: '' });
      expect(heard.stdout).toMatch(
        new RegExp(`^parity pass requested for ${domain} at \\d\\d:\\d\\d:\\d\\d UTC`),
      );
      await waitFor(() => messages.length === 1, 5_000, 'the request on the channel');
      expect(JSON.parse(messages[0]!)).toMatchObject({ requestedBy: 'admin (127.0.0.1)' });
    } finally {
      await subscriber.quit();
    }
    const unheard = await cli(['data', 'verify', domain], env);
    expect(unheard.code).toBe(1);
    expect(unheard.stdout).toBe(
      `no sync process of ${domain} is listening: no pass will start; is movies-sync running?\n`,
    );
  });

  it('on a terminal, redraws with --watch as the status changes, and ends when it goes away', async () => {
    await redis.set(key, JSON.stringify(document(domain, 64)), 'PX', 30_000);
    const watch = startCli(['data', 'status', domain, '--watch'], env, undefined, { tty: true });
    await waitFor(() => watch.stdout.includes('lag        64ms'), 10_000, 'the first drawing');
    await redis.set(key, JSON.stringify(document(domain, 4_200)), 'PX', 30_000);
    await waitFor(() => watch.stdout.includes('lag        4s (p99'), 10_000, 'the redrawing');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matches the ANSI escapes the redraw writes
    expect(watch.stdout).toMatch(/\x1b\[\d+F\x1b\[J/);
    await redis.del(key);
    const done = await watch.done;
    expect(done.code).toBe(1);
    expect(done.stdout).toContain(`cinemaabyss: no data status for domain "${domain}"`);
  });
});
