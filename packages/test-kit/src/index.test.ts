import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { refusedUrl, uniqueName, waitFor } from './index.js';

describe('test kit', () => {
  it('waits until the check holds, and fails at the deadline naming what it waited for', async () => {
    let calls = 0;
    await waitFor(() => ++calls === 3, 5_000, 'the third call');
    expect(calls).toBe(3);
    await expect(waitFor(async () => false, 20, 'nothing')).rejects.toThrow(
      'timed out after 20 ms waiting for nothing',
    );
  });

  it('gives a URL whose port refuses connections, and names that differ', async () => {
    const { hostname, port } = new URL(await refusedUrl());
    const refused = await new Promise<string>((resolve) =>
      connect(Number(port), hostname)
        .on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? ''))
        .on('connect', () => resolve('connected')),
    );
    expect(refused).toBe('ECONNREFUSED');
    expect(uniqueName('test')).toMatch(/^test-[0-9a-f]{8}$/);
    expect(uniqueName('test')).not.toBe(uniqueName('test'));
  });
});
