import type { ConsumedMessage } from './kafka/bus.js';
import { recordBytes } from './kafka/bus.js';

export interface DeadLetter {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** True when the original did not fit and was cut. */
  cut: boolean;
}

// A reason names every failing field; a message with thousands of them would make a reason as large.
const maxReasonBytes = 1024;
const maxKeyBytes = 1024;

/**
 * The dead letter for an invalid message: the original key, value and headers plus where it came from and
 * why. When that would not fit in one record of `maxBytes` (an invalid message near the size limit plus
 * these headers), the original headers are left out and then the value cut, so the letter is always
 * stored and the partition moves on; `x-dlq-cut` says what was cut, `x-dlq-value-bytes` the value's size.
 */
export function deadLetter(message: ConsumedMessage, reason: string, maxBytes: number): DeadLetter {
  const origin = {
    'x-dlq-reason': cut(Buffer.from(reason), maxReasonBytes).toString('utf8'),
    'x-dlq-topic': message.topic,
    'x-dlq-partition': String(message.partition),
    'x-dlq-offset': message.offset,
  };
  const key = message.key === null ? null : cut(message.key, maxKeyBytes).toString('utf8');
  const whole = { key, value: message.value, headers: { ...message.headers, ...origin } };
  if (recordBytes(whole) <= maxBytes) return { ...whole, cut: false };

  const value = message.value ?? Buffer.alloc(0);
  const headers: Record<string, string> = {
    ...origin,
    'x-dlq-cut': 'headers,value',
    'x-dlq-value-bytes': String(value.length),
  };
  const room = maxBytes - recordBytes({ key, value: null, headers });
  return { key, value: cut(value, Math.max(0, room)), headers, cut: true };
}

/** The first `max` bytes (a UTF-8 character split at the end is acceptable in a cut letter). */
function cut(bytes: Buffer, max: number): Buffer {
  return bytes.length <= max ? bytes : bytes.subarray(0, max);
}
