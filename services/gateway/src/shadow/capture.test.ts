import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { captureBody } from './capture.js';

/** A client that receives everything piped to it. */
const client = () => {
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk);
      done();
    },
  });
  return { sink, received: () => Buffer.concat(received).toString() };
};

describe('captureBody', () => {
  it('copies a streamed body while the client still gets all of it', async () => {
    const body = new PassThrough();
    const { sink, received } = client();
    const captured = captureBody(body, 100);
    const piped = pipeline(body, sink);
    body.write('hello ');
    body.end('world');
    await piped;
    expect((await captured).toString()).toBe('hello world');
    expect(received()).toBe('hello world');
  });

  it('gives up the copy past the bound, never the client', async () => {
    const body = new PassThrough();
    const { sink, received } = client();
    const captured = captureBody(body, 10);
    const piped = pipeline(body, sink);
    body.write('0123456789');
    body.end('abc');
    await piped;
    expect(await captured).toBe('skipped');
    expect(received()).toBe('0123456789abc');
  });

  it('reports a stream destroyed before its end', async () => {
    const body = new PassThrough();
    const captured = captureBody(body, 100);
    body.write('partial');
    body.destroy();
    expect(await captured).toBe('error');
  });
});
