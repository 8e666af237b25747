import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Answer } from './compare.js';

export interface ShadowRequest {
  method: 'GET' | 'HEAD';
  /** Path and query, as the gateway forwards them. */
  path: string;
  /** Headers as the gateway forwards them (after rewriteRequestHeaders). */
  headers: IncomingHttpHeaders;
}

/** A shadow answer, or why there is none: the shadow side failed or timed out, or its body was too large. */
export type Fetched = { answer: Answer } | { failed: 'error' | 'skipped'; reason: string };

export interface MirrorOptions {
  dispatcher: Dispatcher;
  /** The whole exchange, headers and body, must finish within this time. */
  timeoutMs: number;
  maxBodyBytes: number;
  maxInFlight: number;
}

// Set by undici from the origin, or describing a body a GET does not have.
const NOT_COPIED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'expect']);

/** One shadow copy's place under the cap, held until release(): sending, then comparing. */
export interface Slot {
  /** Sends the copy; never throws. */
  fetch(origin: string, request: ShadowRequest): Promise<Fetched>;
  /** Gives the place back; later calls do nothing. */
  release(): void;
}

/**
 * Sends shadow copies of requests, at most `maxInFlight` at a time on this replica. A slot is held from
 * the copy's start until its comparison is done, so the cap also bounds the answers waiting to be
 * compared: memory stays under `maxInFlight` × `maxBodyBytes`. Beyond the cap nothing is sent (the
 * caller counts it `dropped`), nothing queued. Never throws: every failure becomes a Fetched.
 */
export class Mirror {
  private held = 0;

  constructor(private readonly options: MirrorOptions) {}

  /** Slots held right now. */
  get inFlight(): number {
    return this.held;
  }

  /** A slot for one copy, or undefined while the cap is reached. */
  reserve(): Slot | undefined {
    if (this.held >= this.options.maxInFlight) return undefined;
    this.held++;
    let released = false;
    return {
      fetch: (origin, request) => this.exchange(origin, request),
      release: () => {
        if (released) return;
        released = true;
        this.held--;
      },
    };
  }

  private async exchange(origin: string, request: ShadowRequest): Promise<Fetched> {
    const { dispatcher, timeoutMs, maxBodyBytes } = this.options;
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new Error(`shadow side timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      const response = await dispatcher.request({
        origin,
        path: request.path,
        method: request.method,
        headers: copyHeaders(request.headers),
        signal: abort.signal,
      });
      const { statusCode, headers, body } = response;
      const contentType = firstHeader(headers['content-type']);
      const contentEncoding = firstHeader(headers['content-encoding']);
      if (Number(headers['content-length']) > maxBodyBytes) {
        // Destroying the body closes the connection: the rest is never read.
        body.destroy();
        return { failed: 'skipped', reason: `body of ${headers['content-length']} bytes` };
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of body) {
        size += (chunk as Buffer).length;
        if (size > maxBodyBytes) {
          body.destroy();
          return { failed: 'skipped', reason: `body over ${maxBodyBytes} bytes` };
        }
        chunks.push(chunk as Buffer);
      }
      const answer: Answer = {
        status: statusCode,
        contentType,
        contentEncoding,
        body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
      };
      return { answer };
    } catch (error) {
      const reason = abort.signal.aborted ? String((abort.signal.reason as Error).message) : String(error);
      return { failed: 'error', reason };
    } finally {
      clearTimeout(timer);
    }
  }
}

function copyHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const copy: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !NOT_COPIED.has(name)) copy[name] = value;
  }
  // Lets an upstream tell a shadow copy from a user's request (its answer is never seen by anyone).
  copy['x-shadow'] = '1';
  return copy;
}

const firstHeader = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
