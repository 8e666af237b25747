import type { Readable } from 'node:stream';

/**
 * Collects a copy of a body that streams to the client, up to `maxBytes`: a second 'data' listener, so
 * the client's stream and its backpressure stay as they are. Resolves with the body, 'skipped' once it
 * grew past the bound (the copy is dropped, the stream goes on), or 'error' when the stream failed or
 * was destroyed before its end. Call it in the same tick the stream is handed to the reply.
 */
export function captureBody(stream: Readable, maxBytes: number): Promise<Buffer | 'skipped' | 'error'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        chunks.length = 0;
        finish('skipped');
      } else {
        chunks.push(chunk);
      }
    };
    const onEnd = () => finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    const onFailure = () => finish('error');
    const finish = (result: Buffer | 'skipped' | 'error') => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onFailure);
      stream.off('close', onFailure);
      resolve(result);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onFailure);
    // 'close' without 'end' first: destroyed part way (the client left).
    stream.once('close', onFailure);
  });
}
