import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';

// kafkajs 2.2.4 with patches/kafkajs@2.2.4.patch: its request queue armed a timer with a negative delay after
// every response (Node 24 warns: TimeoutNegativeWarning). These tests fail on the unpatched package.
interface PushedRequest {
  entry: {
    correlationId: number;
    apiKey: number;
    apiName: string;
    apiVersion: number;
    resolve: (response: unknown) => void;
    reject: (error: Error) => void;
  };
  expectResponse: boolean;
  sendRequest: () => void;
}
interface RequestQueue {
  pending: unknown[];
  throttleCheckTimeoutId: unknown;
  push(request: PushedRequest): void;
  maybeThrottle(clientSideThrottleTimeMs: number): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  destroy(): void;
}
type RequestQueueClass = new (options: Record<string, unknown>) => RequestQueue;

const RequestQueue: RequestQueueClass = createRequire(import.meta.url)(
  'kafkajs/src/network/requestQueue/index.js',
);
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const newQueue = () =>
  new RequestQueue({
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: '127.0.0.1:9092',
    logger: silent,
  });
const request = (correlationId: number, sendRequest: () => void): PushedRequest => ({
  entry: { correlationId, apiKey: 0, apiName: 'Produce', apiVersion: 7, resolve: vi.fn(), reject: vi.fn() },
  expectResponse: true,
  sendRequest,
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('kafkajs request queue (patched)', () => {
  it('arms no timer, so none with a negative delay, after a response with nothing pending', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const queue = newQueue();
    try {
      const sent = vi.fn();
      const pushed = request(1, sent);
      queue.push(pushed);
      expect(sent).toHaveBeenCalledOnce();
      queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
      expect(pushed.entry.resolve).toHaveBeenCalledOnce();
      expect(queue.throttleCheckTimeoutId).toBeNull();
      expect(setTimeoutSpy.mock.calls.filter(([, delay]) => (delay ?? 0) < 0)).toEqual([]);
      // Node emits warnings on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
      queue.destroy();
    }
    expect(warnings.map((warning) => warning.name)).not.toContain('TimeoutNegativeWarning');
  });

  it('still sends a request held back by broker throttling once the throttle time has passed', () => {
    vi.useFakeTimers();
    const queue = newQueue();
    queue.maybeThrottle(50);
    const sent = vi.fn();
    queue.push(request(1, sent));
    expect(queue.pending).toHaveLength(1);
    vi.advanceTimersByTime(49);
    expect(sent).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(sent).toHaveBeenCalledOnce();
    expect(queue.pending).toHaveLength(0);
    queue.destroy();
  });
});
