import type { Kafka, Message, ProducerRecord, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { BufferFullError, ProducerQueue, recordBytes } from './producer-queue.js';

/** A producer whose sends wait until the test lets them through, recording what each held. */
function fakeKafka() {
  const sends: Array<{ record: ProducerRecord; release: () => void }> = [];
  const producer = {
    send: (record: ProducerRecord) =>
      new Promise<RecordMetadata[]>((resolve) => {
        const partition = record.messages[0]?.partition ?? 0;
        sends.push({
          record,
          release: () =>
            resolve([
              { topicName: record.topic, partition, errorCode: 0, baseOffset: String(sends.length * 1000) },
            ]),
        });
      }),
  };
  return { kafka: { producer: () => producer } as unknown as Kafka, sends };
}

const message = (bytes: number): Message => ({ key: 'k', value: 'x'.repeat(bytes) });

describe('ProducerQueue', () => {
  it('refuses a message at once when the bytes waiting for Kafka would exceed the buffer', async () => {
    const { kafka, sends } = fakeKafka();
    const size = recordBytes(message(1000));
    const queue = new ProducerQueue(kafka, { maxBatchBytes: 100_000, maxBufferedBytes: size * 3 });
    const accepted = [1, 2, 3].map(() => queue.enqueue('t', message(1000)));
    await expect(queue.enqueue('t', message(1000))).rejects.toBeInstanceOf(BufferFullError);
    expect(queue.buffered()).toBe(size * 3);
    // Once the first send is acknowledged its bytes are free again.
    await waitUntil(() => sends.length === 1);
    sends[0]?.release();
    await accepted[0];
    expect(queue.buffered()).toBe(size * 2);
    const later = queue.enqueue('t', message(1000));
    let done = false;
    const all = Promise.all([...accepted, later]).then(() => {
      done = true;
    });
    await waitUntil(() => {
      for (const send of sends) send.release();
      return done;
    });
    await all;
    expect(queue.buffered()).toBe(0);
  });

  it('keeps each send under the batch bytes', async () => {
    const { kafka, sends } = fakeKafka();
    const size = recordBytes(message(10_000));
    const queue = new ProducerQueue(kafka, { maxBatchBytes: size * 4, maxBufferedBytes: 10_000_000 });
    const first = queue.enqueue('t', message(10_000));
    const rest = Array.from({ length: 10 }, () => queue.enqueue('t', message(10_000)));
    await waitUntil(() => sends.length === 1);
    sends[0]?.release(); // the first went alone; the ten that waited go in sends of at most four
    for (let n = 2; n <= 4; n++) {
      await waitUntil(() => sends.length === n);
      sends[n - 1]?.release();
    }
    const published = await Promise.all([first, ...rest]);
    expect(sends.map((send) => send.record.messages.length)).toEqual([1, 4, 4, 2]);
    expect(published.map((p) => p.offset).slice(0, 6)).toEqual([
      '1000',
      '2000',
      '2001',
      '2002',
      '2003',
      '3000',
    ]);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}
