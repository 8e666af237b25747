import { HttpError } from '@cinemaabyss/service-kit';

export interface EventLimits {
  /** The event's JSON as published, in bytes. */
  maxEventBytes: number;
  /** Any one string of the payload, in UTF-8 bytes. */
  maxStringBytes: number;
}

/**
 * Refuses a payload with a string over its limit: a 413 naming the field, as `body.description`. Every
 * string is checked, in arrays too, so no field escapes the limit.
 */
export function checkPayloadStrings(payload: unknown, { maxStringBytes }: EventLimits): void {
  for (const [path, value] of strings(payload, ['body'])) {
    const size = Buffer.byteLength(value);
    if (size > maxStringBytes)
      throw new HttpError(
        413,
        `${path.join('.')}: ${size} bytes, over the limit of ${maxStringBytes} bytes per string`,
      );
  }
}

/**
 * Refuses an event whose JSON is over its limit: a 413 naming its largest field, the one to shorten. Returns
 * the event's size for the buffers that count bytes.
 */
export function checkEventSize(json: string, payload: unknown, { maxEventBytes }: EventLimits): number {
  const size = Buffer.byteLength(json);
  if (size <= maxEventBytes) return size;
  const largest = largestField(payload);
  throw new HttpError(
    413,
    `event: ${size} bytes, over the limit of ${maxEventBytes} bytes per event` +
      (largest ? ` (the largest field is ${largest.path}, ${largest.bytes} bytes)` : ''),
  );
}

function* strings(value: unknown, path: string[]): Generator<[string[], string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value))
    for (const [i, item] of value.entries()) yield* strings(item, [...path, String(i)]);
  else if (value !== null && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) yield* strings(item, [...path, key]);
}

function largestField(payload: unknown): { path: string; bytes: number } | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  let largest: { path: string; bytes: number } | undefined;
  for (const [key, value] of Object.entries(payload)) {
    const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
    if (!largest || bytes > largest.bytes) largest = { path: `body.${key}`, bytes };
  }
  return largest;
}
