import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError } from '@cinemaabyss/service-kit';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where the gateway's build puts the page (scripts/build-console.mjs); the same from src/ and dist/. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/page/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

// The page holds no data and runs only its own files; every data call goes to this origin with a token.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; connect-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
  vary: 'accept-encoding',
};

interface Asset {
  type: string;
  raw: Buffer;
  gzip: Buffer;
}

/** Every file of the built page with its gzipped twin, read once. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type || !existsSync(join(dir, `${name}.gz`))) continue;
    assets.set(name, {
      type,
      raw: readFileSync(join(dir, name)),
      gzip: readFileSync(join(dir, `${name}.gz`)),
    });
  }
  return assets;
}

/**
 * The operator console (docs/console.md): `GET /admin/console` and its files, without a token (the page
 * is the same for everyone; the data it shows comes from the admin API, with the token the user enters).
 */
export async function consoleRoutes(app: FastifyInstance, { dir = CONSOLE_DIR }: { dir?: string } = {}) {
  const assets = existsSync(join(dir, 'index.html')) ? loadAssets(dir) : new Map<string, Asset>();
  if (assets.size === 0)
    app.log.error({ dir }, 'console page not built: /admin/console answers 503 until the gateway is built');

  const send = (name: string, acceptEncoding: string | undefined, reply: FastifyReply) => {
    if (assets.size === 0)
      throw new HttpError(503, 'the console page is not built; run pnpm --filter @cinemaabyss/gateway build');
    const asset = assets.get(name);
    if (!asset) throw new HttpError(404, `no console file "${name}"`);
    reply.headers(SECURITY_HEADERS).type(asset.type);
    if (/\bgzip\b/.test(acceptEncoding ?? ''))
      return reply.header('content-encoding', 'gzip').send(asset.gzip);
    return reply.send(asset.raw);
  };

  app.get('/admin/console', async (request, reply) =>
    send('index.html', request.headers['accept-encoding'], reply),
  );
  app.get<{ Params: { file: string } }>('/admin/console/:file', async (request, reply) =>
    send(request.params.file, request.headers['accept-encoding'], reply),
  );
}
