import { describe, expect, it } from 'vitest';
import {
  deleteTopics,
  samples,
  startApp,
  type TestApp,
  testConfig,
  waitFor,
  waitUntilReady,
} from './helpers.js';

const processedIds = (service: TestApp) =>
  service.logs.filter((line) => line.msg === 'event processed').map((line) => String(line.id));

describe('events service shutdown', () => {
  it('finishes and commits the current batch on close, so a successor re-reads nothing and misses nothing', async () => {
    const config = testConfig();
    const first = await startApp(config);
    let second: TestApp | undefined;
    try {
      await waitUntilReady(first.app);
      const responses = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          first.app.inject({
            method: 'POST',
            url: '/api/events/user',
            payload: { ...samples.user, user_id: i },
          }),
        ),
      );
      expect(responses.every((res) => res.statusCode === 201)).toBe(true);
      const acknowledged = responses.map((res) => res.json().event.id as string);
      await waitFor('the consumer to be busy', () => processedIds(first).length > 0);

      const closing = performance.now();
      await first.app.close();
      expect(performance.now() - closing).toBeLessThan(15_000);
      const beforeClose = new Set(processedIds(first));

      second = await startApp(config);
      const successor = second;
      await waitFor('the successor to process the rest', () => {
        const seen = new Set([...beforeClose, ...processedIds(successor)]);
        return acknowledged.every((id) => seen.has(id));
      });
      const reprocessed = processedIds(successor).filter((id) => beforeClose.has(id));
      expect(reprocessed).toEqual([]);
    } finally {
      await second?.app.close();
      await first.app.close();
      await deleteTopics(config);
    }
  }, 60_000);
});
