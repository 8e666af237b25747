import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { CONSOLE_DIR } from '../../src/console/routes.js';
import { testConfig } from '../helpers.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildApp(testConfig());
});
afterAll(() => app.close());

const get = (url: string, encoding = 'gzip, deflate, br') =>
  app.inject({ url, headers: { 'accept-encoding': encoding } });

describe('GET /admin/console (the built page, served without a token)', () => {
  it('serves the page and every file it loads gzipped, under a strict CSP, with no token', async () => {
    const page = await get('/admin/console');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-encoding']).toBe('gzip');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'; connect-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
    const html = gunzipSync(page.rawPayload).toString();
    expect(html).toContain('<input id="token" name="token" type="password"');
    // No inline script and nothing from elsewhere: every src and href is one of the console's own files.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const links = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) {
      expect(link).toMatch(/^\/admin\/console\/[\w.-]+$/);
      const file = await get(link);
      expect(file.statusCode).toBe(200);
      expect(file.headers['content-encoding']).toBe('gzip');
    }
  });

  it('imports only its own files from its scripts', async () => {
    const scripts = readdirSync(CONSOLE_DIR).filter((name) => name.endsWith('.js'));
    for (const name of scripts) {
      const source = (await get(`/admin/console/${name}`, 'identity')).body;
      for (const [, target] of source.matchAll(/\bfrom\s+'([^']+)'/g)) {
        expect(target).toMatch(/^\.\/[\w-]+\.js$/);
        expect(scripts).toContain(target!.slice(2));
      }
    }
  });

  it('weighs at most 150 KB gzipped, all files together', () => {
    const gzipped = readdirSync(CONSOLE_DIR).filter((name) => name.endsWith('.gz'));
    expect(gzipped.length).toBeGreaterThanOrEqual(3);
    const total = gzipped.reduce((sum, name) => sum + statSync(join(CONSOLE_DIR, name)).size, 0);
    expect(total).toBeLessThanOrEqual(150 * 1024);
  });

  it('sends the plain file to a client without gzip, and 404 for a file it does not have', async () => {
    const plain = await get('/admin/console/console.css', 'identity');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(plain.body).toContain('@media');
    const missing = await get('/admin/console/secrets.json');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'no console file "secrets.json"' });
    // Only the files read at start exist: a path out of the folder is refused before or at the lookup.
    expect([400, 404]).toContain((await get('/admin/console/..%2Fpackage.json')).statusCode);
  });
});
