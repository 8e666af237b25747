import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { type Browser, chromium, type Page } from 'playwright-core';
import { launchChromium } from '../../../../tools/chromium.mjs';
import { buildApp } from '../../src/app.js';
import { policyFor, REDIS_URL, testConfig, uniqueFlag, waitFor } from '../helpers.js';

/** Debian's chromium, headless and quiet (tools/chromium.mjs, shared with the screenshots script). */
export const launchBrowser = (): Promise<Browser> => launchChromium(chromium);

export interface TestUpstream {
  url: string;
  /** Share of requests answered 500. */
  behaviour: { errorRate: number };
  close(): Promise<void>;
}

/** A real upstream answering `body` as JSON, or a 500 for the share `behaviour.errorRate`. */
export async function upstream(body: object): Promise<TestUpstream> {
  const behaviour = { errorRate: 0 };
  const server: Server = createServer((req, res) => {
    req.resume();
    const failed = Math.random() < behaviour.errorRate;
    res.writeHead(failed ? 500 : 200, { 'content-type': 'application/json' });
    res.end(failed ? '{"error":"injected"}' : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    behaviour,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// Rollout windows short enough for a test: counts flushed every 20 ms, 100 ms counting slots.
const TIMING = {
  CLUSTER_COUNTERS_FLUSH_MS: '20',
  ROLLOUT_SETTLE_MS: '50',
  ROLLOUT_LEASE_MS: '300',
  ROLLOUT_RESOLUTION_MS: '100',
};

/** A gateway on a free port in front of two test upstreams, on the stack's Redis, with a flag of its own. */
export async function consoleGateway(
  options: { env?: Record<string, string>; old?: object; neu?: object; data?: string } = {},
) {
  const flag = uniqueFlag();
  const old = await upstream(options.old ?? { side: 'old' });
  const neu = await upstream(options.neu ?? { side: 'new' });
  const policy = policyFor({ monolith: old.url, movies: neu.url, events: old.url }, flag);
  // The routing policy's `data`: the flag's new side owns this data domain.
  if (options.data) policy.flags[flag]!.data = options.data;
  const app: FastifyInstance = await buildApp(testConfig({ ...TIMING, ...options.env }), { policy });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  await waitFor(
    async () => ((await (await fetch(`${url}/ready`)).json()) as { status: string }).status === 'ready',
    5_000,
    'the gateway to reach Redis',
  );
  const redis = new Redis(REDIS_URL);
  let stopTraffic = async () => {};
  return {
    flag,
    url,
    old,
    neu,
    redis,
    /** GETs with random user ids, `inFlight` at a time, until close (at most 100 000). */
    traffic(inFlight = 8) {
      let stopped = false;
      let sent = 0;
      const worker = async () => {
        while (!stopped && sent++ < 100_000) {
          const headers = { 'x-user-id': Math.random().toString(36).slice(2) };
          await fetch(`${url}/api/movies`, { headers })
            .then((res) => res.arrayBuffer())
            .catch(() => {});
        }
      };
      const workers = Array.from({ length: inFlight }, worker);
      stopTraffic = async () => {
        stopped = true;
        await Promise.all(workers);
      };
    },
    /** An admin call as the CLI makes it. */
    async admin(token: string, method: string, path: string, body?: object) {
      const res = await fetch(`${url}/admin/flags/${flag}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body && { 'content-type': 'application/json' }) },
        ...(body && { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async close() {
      await stopTraffic();
      await app.close();
      redis.disconnect();
      await Promise.all([old.close(), neu.close()]);
    },
  };
}

/**
 * A fresh page on the console, recording every request it makes; `foreign()` lists those that went
 * anywhere but the gateway, `unauthenticated` the data calls without the bearer token or with a cookie.
 */
export async function openConsole(browser: Browser, gatewayUrl: string) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page: Page = await context.newPage();
  const requests: string[] = [];
  /** Data calls (the admin API, not the page's files) made without a bearer token, or with a cookie. */
  const unauthenticated: Array<Promise<string | undefined>> = [];
  let closing = false;
  page.on('request', (request) => {
    requests.push(request.url());
    const { pathname } = new URL(request.url());
    if (!pathname.startsWith('/admin/') || pathname.startsWith('/admin/console')) return;
    // allHeaders, not headers: only it shows a cookie the browser would add.
    unauthenticated.push(
      request
        .allHeaders()
        .then((headers) =>
          /^Bearer \S+$/.test(headers.authorization ?? '') && headers.cookie === undefined
            ? undefined
            : `${request.method()} ${pathname}`,
        )
        // The page polls every second: a call made as it closes can no longer be described. Checked
        // calls came before the close; any other failure is reported as a call of its own.
        .catch((error: Error) => (closing ? undefined : `${request.method()} ${pathname}: ${error.message}`)),
    );
  });
  await page.goto(`${gatewayUrl}/admin/console`);
  const origin = new URL(gatewayUrl).origin;
  return {
    page,
    requests,
    foreign: () => requests.filter((url) => new URL(url).origin !== origin),
    unauthenticated: async () => (await Promise.all(unauthenticated)).filter((call) => call !== undefined),
    /** Logs in with `token` and waits for the card of `flag`. */
    async login(token: string, flag: string) {
      await page.fill('input[name="token"]', token);
      await page.click('#login button[type="submit"]');
      await page.waitForSelector(`[data-flag="${flag}"] [data-field="percent"]:not(:empty)`);
      return page.locator(`[data-flag="${flag}"]`);
    },
    /** Answers the console's own confirmation dialog. */
    async confirm() {
      await page.click('#confirm [data-answer="ok"]');
    },
    close: () => {
      closing = true;
      return context.close();
    },
  };
}
