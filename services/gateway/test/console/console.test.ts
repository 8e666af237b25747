import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { flagKey, historyKey } from '../../src/flags/store.js';
import { ADMIN_TOKEN } from '../helpers.js';
import { consoleGateway, launchBrowser, openConsole } from './browser.js';

// Issue 16's browser tests: Debian's chromium driven by playwright-core, against a real gateway on a free
// port, its real Redis and test upstreams. Every wait is on a condition; no test sleeps.

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(() => browser?.close());

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A gateway and a console page on it; at the end of the test the page must have asked nothing of anyone
 * else, and every data call it made must have carried the bearer token and no cookie.
 */
async function setUp(options: Parameters<typeof consoleGateway>[0] = {}) {
  const gateway = await consoleGateway(options);
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

describe('the operator console in a real browser', { timeout: 30_000 }, () => {
  it("shows the gateway's own error for a wrong token, and stays on the login form", async () => {
    const { page, console } = await setUp();
    await page.fill('input[name="token"]', 'not-the-token-0123456789abcdef0123456789');
    await page.click('#login button[type="submit"]');
    await expect.poll(text(page.locator('#login-error'))).toBe('missing or invalid bearer token');
    expect(await page.locator('#login').isVisible()).toBe(true);
    expect(await page.locator('[data-flag]').count()).toBe(0);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    // The token was only ever sent as a bearer header, and the page set no cookie.
    expect(await page.context().cookies()).toEqual([]);
    expect(console.requests.some((url) => url.endsWith('/admin/me'))).toBe(true);
  });

  it('logs in, sets 30 % after confirming, and Redis holds 30', async () => {
    const { gateway, console, page } = await setUp();
    const card = await console.login(ADMIN_TOKEN, gateway.flag);
    expect(await page.locator('#whoami').textContent()).toBe('admin · operator');
    expect(await page.evaluate('sessionStorage.length')).toBe(1);

    await card.locator('input[name="percent"]').fill('30');
    await card.locator('button[data-action="set-percent"]').click();
    await expect
      .poll(text(page.locator('#confirm-text')))
      .toBe(`Send 30 % of "${gateway.flag}" to the new side?`);
    await console.confirm();
    await expect.poll(() => gateway.redis.hget(flagKey(gateway.flag), 'percent')).toBe('30');
    await expect.poll(text(card.locator('[data-field="percent"]'))).toBe('30');
    await expect.poll(text(card.locator('[data-field="history"]'))).toContain('percent 0 % → 30 %');

    // Cancelled, nothing is sent; a bad value is refused in the gateway's words.
    await card.locator('input[name="percent"]').fill('101');
    await card.locator('button[data-action="set-percent"]').click();
    await page.click('#confirm [data-answer="cancel"]');
    await card.locator('button[data-action="set-percent"]').click();
    await console.confirm();
    await expect
      .poll(text(card.locator('[data-field="message"]')))
      .toBe(`${gateway.flag}: body.percent: must be an integer from 0 to 100`);
    expect(await gateway.redis.hget(flagKey(gateway.flag), 'percent')).toBe('30');
  });

  it('shows a change made with redis-cli within 3 s, without a reload', async () => {
    const { gateway, console } = await setUp();
    const card = await console.login(ADMIN_TOKEN, gateway.flag);
    await expect.poll(text(card.locator('[data-field="percent"]'))).toBe('0');
    await gateway.redis.hset(flagKey(gateway.flag), 'percent', '40');
    await expect.poll(text(card.locator('[data-field="percent"]')), { timeout: 3_000 }).toBe('40');
    await expect.poll(text(card.locator('[data-field="effective-percent"]')), { timeout: 3_000 }).toBe('40');
  });

  it('starts a rollout from its form and shows it roll back on injected errors, with the reason', async () => {
    const { gateway, console } = await setUp();
    gateway.neu.behaviour.errorRate = 0.5;
    gateway.traffic();
    const card = await console.login(ADMIN_TOKEN, gateway.flag);
    await card.locator('summary').click();
    // 20 % of 8 requests in flight: the new side has its 10 requests in each 1 s window even on a loaded machine.
    await card.locator('input[name="steps"]').fill('20, 50, 100');
    await card.locator('input[name="intervalMs"]').fill('1000');
    await card.locator('input[name="minRequests"]').fill('10');
    // Healthy latency on a loaded machine can reach hundreds of ms: only the errors are judged here.
    await card.locator('input[name="latencyFloorMs"]').fill('5000');
    await card.locator('button[data-action="start-rollout"]').click();
    await console.confirm();
    await expect.poll(text(card.locator('[data-field="rollout-state"]')), { timeout: 5_000 }).toBe('running');
    await expect
      .poll(text(card.locator('[data-field="rollout-state"]')), { timeout: 15_000 })
      .toBe('rolled-back')
      .catch(async (error: Error) => {
        const { decisions } = (await gateway.admin(ADMIN_TOKEN, 'GET', '/rollout')).body;
        throw new Error(`${error.message}; decisions so far: ${JSON.stringify(decisions)}`);
      });
    const decisions = text(card.locator('[data-field="rollout"]'));
    await expect
      .poll(decisions)
      .toMatch(/rollback.*new 5xx \d+(\.\d)? % \(n=\d[\d ]*\) vs old 0 % .*pp > 1 pp/);
    await expect.poll(text(card.locator('[data-field="percent"]'))).toBe('0');
    expect(await card.locator('.timeline .failed').textContent()).toBe('20 %');
    // The split chart and each side's numbers come from the same counts.
    await expect.poll(async () => card.locator('[data-field="chart"] svg polyline').count()).toBe(2);
    // The new side's 5xx rate over the last minute, read every fifth poll.
    const newErrors = card.locator('[data-field="sides"] tbody tr:nth-child(2) td:nth-child(3)');
    await expect
      .poll(async () => Number.parseFloat((await newErrors.textContent()) ?? ''), { timeout: 10_000 })
      .toBeGreaterThan(10);
  });

  it('aborts a running rollout from the page: state aborted, flag back to 0 %', async () => {
    const { gateway, console } = await setUp();
    const started = await gateway.admin(ADMIN_TOKEN, 'POST', '/rollout', {
      steps: [25, 100],
      intervalMs: 600_000,
    });
    expect(started.status).toBe(201);
    const card = await console.login(ADMIN_TOKEN, gateway.flag);
    await expect.poll(text(card.locator('[data-field="rollout-state"]'))).toBe('running');
    await expect.poll(text(card.locator('[data-field="percent"]'))).toBe('25');
    await card.locator('button[data-action="abort"]').click();
    await console.confirm();
    await expect.poll(text(card.locator('[data-field="rollout-state"]'))).toBe('aborted');
    expect(await gateway.redis.hget(flagKey(gateway.flag), 'percent')).toBe('0');
    expect((await gateway.admin(ADMIN_TOKEN, 'GET', '/rollout')).body).toMatchObject({ state: 'aborted' });
    await expect.poll(text(card.locator('[data-field="rollout"]'))).toContain('aborted by admin');
    expect(await card.locator('button[data-action="abort"]').isDisabled()).toBe(true);
  });

  it('renders names, user ids and diff values holding <script> and <img onerror> as text', async () => {
    const script = '<script>window.pwned = 1</script>';
    const img = '<img src=x onerror="window.pwned = 2">';
    const { gateway, console, page } = await setUp({ old: { title: script }, neu: { title: img } });
    // Every shadowed read differs at $.title, old value beside new in the samples.
    expect((await gateway.admin(ADMIN_TOKEN, 'PUT', '/shadow', { percent: 100 })).status).toBe(200);
    expect((await gateway.admin(ADMIN_TOKEN, 'PUT', '', { allow: [img] })).status).toBe(200);
    // A history entry as anything with access to Redis could write it, its author a piece of markup.
    const forged = {
      at: new Date().toISOString(),
      by: `${script} ${img}`,
      old: null,
      // Stored as the flag's hash fields, as the gateway's Lua script records them.
      new: { enabled: 'true', percent: '0', allow: '[]', deny: '[]' },
    };
    await gateway.redis.lpush(historyKey(gateway.flag), JSON.stringify(forged));
    for (let i = 0; i < 5; i++) await (await fetch(`${gateway.url}/api/movies/${i}`)).arrayBuffer();

    const card = await console.login(ADMIN_TOKEN, gateway.flag);
    const shadow = card.locator('[data-field="shadow"]');
    await expect.poll(async () => shadow.locator('.sample').count(), { timeout: 5_000 }).toBeGreaterThan(0);
    const sample = shadow.locator('.sample').first();
    // The values as the comparison previews them: JSON.
    expect(await sample.locator('code.old').first().textContent()).toBe(JSON.stringify(script));
    expect(await sample.locator('code.new').first().textContent()).toBe(JSON.stringify(img));
    expect(await sample.locator('code.old').first().isVisible()).toBe(true);
    await expect.poll(text(card.locator('[data-field="history"]'))).toContain(`${script} ${img}`);
    expect(await card.locator('textarea[name="allow"]').inputValue()).toBe(img);
    // Shown, and nothing was made of it: no element, no handler run.
    expect(await page.locator('body script, body img').count()).toBe(0);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
  });
});

describe('the console for a viewer', { timeout: 30_000 }, () => {
  const viewerToken = 'viewer-token-0123456789abcdef0123456789';
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'console-operators-'));
    file = join(dir, 'tokens.json');
    const tokenSha256 = createHash('sha256').update(viewerToken).digest('hex');
    await writeFile(
      file,
      JSON.stringify({ operators: [{ name: 'dashboards', role: 'viewer', tokenSha256 }] }),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('shows everything with every action disabled, and the gateway refuses a forced write (403)', async () => {
    const { gateway, console, page } = await setUp({ env: { ADMIN_TOKENS_FILE: file } });
    await gateway.admin(ADMIN_TOKEN, 'PUT', '', { percent: 15 });
    const card = await console.login(viewerToken, gateway.flag);
    await expect.poll(text(card.locator('[data-field="percent"]'))).toBe('15');
    expect(await page.locator('#whoami').textContent()).toBe(
      'dashboards · viewer: read-only, actions are disabled',
    );
    const actions = card.locator('button[data-action]');
    expect(await actions.count()).toBeGreaterThanOrEqual(8);
    for (const button of await actions.all()) expect(await button.isDisabled()).toBe(true);
    for (const input of await card.locator('input, textarea').all())
      expect(await input.isDisabled()).toBe(true);

    const forced = await gateway.admin(viewerToken, 'PUT', '', { percent: 90 });
    expect(forced).toEqual({ status: 403, body: { error: "operator 'dashboards' is a viewer: read-only" } });
    expect(await gateway.redis.hget(flagKey(gateway.flag), 'percent')).toBe('15');
  });
});
