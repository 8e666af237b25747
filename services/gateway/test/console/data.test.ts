import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dataStatusKey, verifyChannel } from '../../src/data/status.js';
import { ADMIN_TOKEN, dataStatusDocument, operatorsFile, tokenOf, uniqueFlag, waitFor } from '../helpers.js';
import { consoleGateway, launchBrowser, openConsole } from './browser.js';

// The data panel of a flag whose new side owns a data domain (the routing policy's `data`), in Debian's
// chromium against a real gateway and Redis; the status document is written as the movies-sync would.

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(() => browser?.close());

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(data?: string, env?: Record<string, string>) {
  const gateway = await consoleGateway({ ...(data && { data }), ...(env && { env }) });
  cleanups.push(() => gateway.close());
  const console = await openConsole(browser, gateway.url);
  cleanups.push(async () => {
    expect(console.foreign()).toEqual([]);
    expect(await console.unauthenticated()).toEqual([]);
    await console.close();
  });
  return { gateway, console, page: console.page };
}

const text = (locator: { textContent(): Promise<string | null> }) => async () => locator.textContent();

describe('the data panel of the console in a real browser', { timeout: 30_000 }, () => {
  it('shows lag, WAL, parity and the connector, follows changes, and asks for a pass after confirming', async () => {
    const domain = uniqueFlag();
    const { gateway, console, page } = await setUp(domain);
    cleanups.push(() => gateway.redis.del(dataStatusKey(domain)));
    const script = '<script>window.pwned = 1</script>';
    const img = '<img src=x onerror="window.pwned = 2">';
    // Text from outside, markup included, as anything with access to Redis could write it.
    const document = {
      ...dataStatusDocument(domain),
      source: { database: script, tables: ['movies'] },
      connector: { name: img, state: 'RUNNING' as const },
    };
    await gateway.redis.set(dataStatusKey(domain), JSON.stringify(document), 'PX', 30_000);

    const card = await console.login(ADMIN_TOKEN, gateway.flag);
    const panel = card.locator('[data-panel="data"]');
    await expect.poll(text(panel.locator('[data-field="data-lag"]'))).toBe('64 ms');
    expect(await panel.isVisible()).toBe(true);
    expect(await panel.locator('h3').textContent()).toBe(`Data ${domain}`);
    expect(await panel.locator('[data-field="data-lag-p99"]').textContent()).toBe('180 ms');
    expect(await panel.locator('[data-field="data-wal"]').textContent()).toBe('1.0 MiB');
    expect(await panel.locator('[data-field="data-parity"]').textContent()).toBe(
      'mismatch · 100000 rows: 1 mismatched, 0 missing, 0 extra',
    );
    expect(await panel.locator('[data-field="data-checked-at"]').textContent()).toBe(
      await page.evaluate(() => new Date('2026-12-08T03:00:00.000Z').toLocaleString()),
    );
    expect(await panel.locator('[data-field="data-sample-ids"]').textContent()).toBe('777');
    expect(await panel.locator('[data-field="data-connector"]').textContent()).toBe(`${img} RUNNING`);
    expect(await panel.textContent()).toContain(`${script} (movies) → movies.movies`);
    expect(await page.locator('body script, body img').count()).toBe(0);
    expect(await page.evaluate('window.pwned')).toBeUndefined();

    // A new document (the sync process rewrites it every second) shows without a reload.
    const passed = {
      ...document,
      lagMs: 12,
      parity: { ...document.parity, state: 'ok', mismatched: 0, sampleIds: [] },
    };
    await gateway.redis.set(dataStatusKey(domain), JSON.stringify(passed), 'PX', 30_000);
    await expect.poll(text(panel.locator('[data-field="data-lag"]')), { timeout: 3_000 }).toBe('12 ms');
    await expect.poll(text(panel.locator('[data-field="data-parity"]'))).toMatch(/^ok · /);
    expect(await panel.locator('[data-field="data-sample-ids"]').textContent()).toBe('none');

    // Verify now: cancelled, nothing is published; confirmed, the request is on the channel.
    const subscriber = gateway.redis.duplicate();
    cleanups.push(() => subscriber.quit());
    const messages: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(verifyChannel(domain));
    const verify = panel.locator('button[data-action="verify-data"]');
    await verify.click();
    await expect
      .poll(text(page.locator('#confirm-text')))
      .toBe(`Run a full parity check of the "${domain}" data now? It reads every row of both databases.`);
    await page.click('#confirm [data-answer="cancel"]');
    await verify.click();
    await console.confirm();
    await waitFor(() => messages.length === 1, 5_000, 'the verify request on the channel');
    expect(JSON.parse(messages[0]!)).toMatchObject({ requestedBy: 'admin (127.0.0.1)' });
    await expect
      .poll(text(card.locator('[data-field="message"]')))
      .toBe(`${gateway.flag}: parity check of ${domain} requested; its result shows under "parity"`);
  });

  it('says so in the panel when the domain has no status, and a flag without a domain has no panel', async () => {
    const domain = uniqueFlag();
    const { gateway, console } = await setUp(domain);
    const card = await console.login(ADMIN_TOKEN, gateway.flag);
    const panel = card.locator('[data-panel="data"]');
    await expect
      .poll(text(panel.locator('[data-field="data"]')))
      .toMatch(new RegExp(`^no data status for domain "${domain}"`));

    const plain = await setUp();
    const plainCard = await plain.console.login(ADMIN_TOKEN, plain.gateway.flag);
    await expect.poll(text(plainCard.locator('[data-field="percent"]'))).toBe('0');
    expect(await plainCard.locator('[data-panel="data"]').isHidden()).toBe(true);
    expect(plain.console.requests.some((url) => url.includes('/admin/data/'))).toBe(false);
  });

  it('shows a viewer the panel with Verify now disabled; the gateway refuses a forced verify (403)', async () => {
    const domain = uniqueFlag();
    const file = operatorsFile({ dashboards: 'viewer' });
    const { gateway, console } = await setUp(domain, { ADMIN_TOKENS_FILE: file });
    cleanups.push(() => gateway.redis.del(dataStatusKey(domain)));
    await gateway.redis.set(dataStatusKey(domain), JSON.stringify(dataStatusDocument(domain)), 'PX', 30_000);
    const card = await console.login(tokenOf('dashboards'), gateway.flag);
    const panel = card.locator('[data-panel="data"]');
    await expect.poll(text(panel.locator('[data-field="data-lag"]'))).toBe('64 ms');
    expect(await panel.locator('button[data-action="verify-data"]').isDisabled()).toBe(true);
    const forced = await fetch(`${gateway.url}/admin/data/${domain}/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenOf('dashboards')}` },
    });
    expect(forced.status).toBe(403);
  });
});
