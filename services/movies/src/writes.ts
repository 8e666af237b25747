import { setTimeout as sleep } from 'node:timers/promises';
import { HttpError } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';

export interface WriteForwarding {
  /** The owner of the writes (the monolith while it holds them). */
  ownerUrl: string;
  ownerTimeoutMs: number;
  /** Bound on the wait for the created movie to be readable here. */
  readableTimeoutMs: number;
  /** True once the movie with this id is readable from the movies database. */
  isReadable(id: number): Promise<boolean>;
}

// Headers that describe the body or the caller and mean the same to the owner; hop-by-hop ones stay here.
const forwardedHeaders = ['content-type', 'accept', 'x-request-id', 'x-user-id', 'user-agent'];

/**
 * POST /api/movies while the monolith owns the writes: neither refused nor applied here (the two databases
 * would diverge). The request goes to the owner as it came, byte for byte; a created movie is answered once
 * it is readable here, so the caller can read its write back from this service. Anything else the owner
 * answers (a 400, its own 5xx) passes through unchanged.
 */
export async function forwardedWrites(app: FastifyInstance, options: WriteForwarding): Promise<void> {
  const target = new URL('/api/movies', options.ownerUrl);
  // The body is forwarded untouched, whatever its Content-Type, so the owner judges it exactly as a
  // direct client's (this plugin's own parsers; the app's stay as they are).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post('/api/movies', async (request, reply) => {
    const headers: Record<string, string> = {};
    for (const name of forwardedHeaders) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    headers['x-request-id'] = request.id;
    const owner = await callOwner(
      target,
      headers,
      request.body as Buffer | undefined,
      options.ownerTimeoutMs,
    );
    const id = owner.status === 201 ? createdId(owner.body) : undefined;
    if (id !== undefined) await waitUntilReadable(id, options);
    reply.code(owner.status);
    if (owner.contentType) reply.type(owner.contentType);
    return reply.send(owner.body);
  });
}

interface OwnerAnswer {
  status: number;
  contentType: string | null;
  body: Buffer;
}

async function callOwner(
  target: URL,
  headers: Record<string, string>,
  body: Buffer | undefined,
  timeoutMs: number,
): Promise<OwnerAnswer> {
  try {
    const res = await fetch(target, {
      method: 'POST',
      headers,
      body: body && body.length > 0 ? new Uint8Array(body) : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return {
      status: res.status,
      contentType: res.headers.get('content-type'),
      body: Buffer.from(await res.arrayBuffer()),
    };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError') {
      throw new HttpError(
        504,
        `the owner of movie writes (${target.origin}) did not answer within ${timeoutMs} ms`,
      );
    }
    throw new HttpError(502, `the owner of movie writes (${target.origin}) is unreachable`);
  }
}

function createdId(body: Buffer): number | undefined {
  try {
    const { id } = JSON.parse(body.toString('utf8')) as { id?: unknown };
    return Number.isSafeInteger(id) ? (id as number) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls the movies database, briefly at first (the usual lag is tens of milliseconds), up to the bound. */
async function waitUntilReadable(id: number, options: WriteForwarding): Promise<void> {
  const started = Date.now();
  let delay = 5;
  while (!(await options.isReadable(id))) {
    const waited = Date.now() - started;
    if (waited >= options.readableTimeoutMs) {
      throw new HttpError(
        504,
        `movie ${id} was created by the owner but is not readable here after ${waited} ms: ` +
          'replication lag is over DATA_READ_YOUR_WRITE_TIMEOUT_MS; read it from the owner or retry the read',
      );
    }
    await sleep(Math.min(delay, options.readableTimeoutMs - waited));
    delay = Math.min(delay * 2, 50);
  }
}
