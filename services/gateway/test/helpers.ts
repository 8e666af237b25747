import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataStatus } from '@cinemaabyss/admin-contract';
import { REDIS_URL, refusedUrl, uniqueName, waitFor } from '@cinemaabyss/test-kit';
import { type Role, sha256Hex } from '../src/admin/operators.js';
import { type Config, configSchema } from '../src/config.js';
import { BUILT_IN_POLICY, type Policy, policySchema } from '../src/routing/policy.js';

export { REDIS_URL, refusedUrl, waitFor };
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123';

/** A named operator's token in tests: derived from the name, so a test can sign as anyone it listed. */
export const tokenOf = (name: string) => `${name}-test-token-0123456789abcdef0123456789`;
export const bearer = (name: string) => ({ authorization: `Bearer ${tokenOf(name)}` });

/** The ADMIN_TOKENS_FILE text naming these operators (with their tokenOf hashes). */
export const operatorsJson = (operators: Record<string, Role>) =>
  JSON.stringify({
    operators: Object.entries(operators).map(([name, role]) => ({
      name,
      role,
      tokenSha256: sha256Hex(tokenOf(name)),
    })),
  });

/** An ADMIN_TOKENS_FILE naming these operators, in a directory of its own. */
export function operatorsFile(operators: Record<string, Role>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gateway-operators-')), 'tokens.json');
  writeFileSync(file, operatorsJson(operators));
  return file;
}

export interface Echo {
  upstream: string;
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Upstream {
  name: string;
  url: string;
  server: Server;
  hits: Map<string, number>;
  /** Sends the second half of every `/drip` response held so far. */
  releaseDrips(): void;
  close(): Promise<void>;
}

/**
 * A real HTTP upstream on a free port that echoes what it received. `/slow?ms=N` answers after N ms,
 * `/reset` destroys the socket without answering, `/busy` answers 503, `/truncate` announces 1000 bytes
 * and dies after 500, `/drip` sends half of a 64 KiB body and the rest on `releaseDrips()`; `hits` counts
 * requests by path.
 */
export async function startUpstream(name: string): Promise<Upstream> {
  const hits = new Map<string, number>();
  const heldDrips: Array<() => void> = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname.endsWith('/reset')) {
        req.socket.destroy();
        return;
      }
      if (url.pathname.endsWith('/truncate')) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
        res.write('x'.repeat(500), () => req.socket.destroy());
        return;
      }
      if (url.pathname.endsWith('/drip')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 65_536 });
        res.write(Buffer.alloc(32_768, 'a'));
        heldDrips.push(() => res.end(Buffer.alloc(32_768, 'b')));
        return;
      }
      if (url.pathname.endsWith('/busy')) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"busy"}');
        return;
      }
      const delay = url.pathname.endsWith('/slow') ? Number(url.searchParams.get('ms') ?? 0) : 0;
      const echo: Echo = {
        upstream: name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(echo));
      }, delay);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    hits,
    url: `http://127.0.0.1:${port}`,
    server,
    releaseDrips: () => {
      for (const release of heldDrips.splice(0)) release();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return configSchema.parse({ REDIS_URL, LOG_LEVEL: 'silent', ADMIN_TOKEN, ...overrides });
}

/** A flag name no other test uses, so tests sharing the Redis on 6379 never see each other's values. */
export const uniqueFlag = () => uniqueName('test');

/** The built-in routing policy with these upstreams and `flag` in place of `movies`. */
export function policyFor(
  urls: { monolith: string; movies: string; events: string },
  flag: string,
  seed = { enabled: true, percent: 0 },
  /** The flag's data domain (the policy's `data` field), for tests of what it gates. */
  data?: string,
): Policy {
  return policySchema.parse({
    ...BUILT_IN_POLICY,
    upstreams: urls,
    routes: BUILT_IN_POLICY.routes.map((route) =>
      route.migrate ? { ...route, migrate: { ...route.migrate, flag } } : route,
    ),
    flags: { [flag]: { seed, ...(data && { data }) } },
  });
}

/** A status document as the movies-sync writes it (docs/data.md), for a domain of the test's own. */
export function dataStatusDocument(domain: string): DataStatus {
  return {
    domain,
    writes: 'monolith',
    source: { database: 'cinemaabyss', tables: ['movies', 'genres', 'movie_genres'] },
    target: { database: 'movies', table: 'movies' },
    connector: { name: 'cinemaabyss-movies', state: 'RUNNING' },
    lagMs: 64,
    lagP99Ms: 180,
    retainedWalBytes: 1_048_576,
    parity: {
      state: 'mismatch',
      checkedAt: '2026-12-08T03:00:00.000Z',
      rows: 100_000,
      mismatched: 1,
      missing: 0,
      extra: 0,
      sampleIds: [777],
    },
    updatedAt: '2026-12-08T03:00:01.000Z',
  };
}
