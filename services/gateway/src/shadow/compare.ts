import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { formatPath, type Segment } from '@cinemaabyss/admin-contract';

/** One side's answer as the comparison sees it (a HEAD's body is empty). */
export interface Answer {
  status: number;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  body: Buffer;
}

/** Marks a value one side does not have (`$.genres[1]: missing`). */
export const MISSING: unique symbol = Symbol('missing');

export interface Difference {
  /** Where the answers differ: `$[3].rating`, or `status`, `content-type`, `body` (bytes). */
  path: string;
  /** The same with every index written `[*]`: what noise and ignore match against (paths.ts). */
  pattern: string;
  /** The two values as found (MISSING where absent); previewed only when a sample is kept. */
  a: unknown;
  b: unknown;
}

/**
 * Compares two answers: status codes first, then media types, then bodies, each step only when the one
 * before found them equal. JSON bodies (`application/json` or `…+json`) are compared path by path, key
 * order never mattering, arrays by index, numbers by value (1 and 1.0 are equal); any other body, or JSON
 * that does not parse, by bytes. A body over `maxBodyBytes`, also once decompressed, is 'skipped'.
 * Bodies are walked in place: nothing is cloned or stringified.
 */
export function compareAnswers(a: Answer, b: Answer, maxBodyBytes: number): Difference[] | 'skipped' {
  if (a.status !== b.status) return [pseudo('status', a.status, b.status)];
  // Equal strings, the usual case, need no normalising.
  if (a.contentType !== b.contentType && mediaType(a.contentType) !== mediaType(b.contentType))
    return [pseudo('content-type', a.contentType ?? MISSING, b.contentType ?? MISSING)];
  const bodyA = decode(a, maxBodyBytes);
  const bodyB = decode(b, maxBodyBytes);
  if (bodyA === undefined || bodyB === undefined) return 'skipped';
  if (bodyA.equals(bodyB)) return [];
  if (isJson(a.contentType)) {
    const valueA = parseJson(bodyA);
    const valueB = parseJson(bodyB);
    if (valueA !== MISSING && valueB !== MISSING) {
      const differences: Difference[] = [];
      compareValues(valueA, valueB, [], differences);
      return differences;
    }
  }
  return [pseudo('body', bodyA, bodyB)];
}

/**
 * A media type compared without case or spacing: `Application/JSON ; Charset="UTF-8"` and
 * `application/json;charset=utf-8` are equal; a parameter present on one side only is a difference.
 */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const [essence = '', ...parameters] = contentType.toLowerCase().split(';');
  const normalised = parameters
    .map((parameter) => {
      const [name = '', value = ''] = parameter.split('=', 2);
      return `${name.trim()}=${value.trim().replace(/^"(.*)"$/, '$1')}`;
    })
    .filter((parameter) => parameter !== '=')
    .sort();
  return [essence.trim(), ...normalised].join(';');
}

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const end = contentType.indexOf(';');
  const essence = (end < 0 ? contentType : contentType.slice(0, end)).trim().toLowerCase();
  return essence === 'application/json' || essence.endsWith('+json');
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return MISSING;
  }
}

/** The body as sent before compression; undefined when it is larger than the bound or cannot be decoded. */
function decode({ body, contentEncoding }: Answer, maxBodyBytes: number): Buffer | undefined {
  if (body.length > maxBodyBytes) return undefined;
  const encoding = contentEncoding?.trim().toLowerCase();
  if (!encoding || encoding === 'identity') return body;
  const bounded = { maxOutputLength: maxBodyBytes };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(body, bounded);
    if (encoding === 'deflate') return inflateSync(body, bounded);
    if (encoding === 'br') return brotliDecompressSync(body, bounded);
  } catch {
    // Corrupt, or larger than the bound once decompressed.
  }
  return undefined;
}

const pseudo = (path: string, a: unknown, b: unknown): Difference => ({ path, pattern: path, a, b });

function differ(path: Segment[], a: unknown, b: unknown, into: Difference[]): void {
  into.push({ path: formatPath(path), pattern: formatPath(path, true), a, b });
}

function compareValues(a: unknown, b: unknown, path: Segment[], into: Difference[]): void {
  if (a === b) return;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    differ(path, a, b, into);
    return;
  }
  const arrayA = Array.isArray(a);
  if (arrayA !== Array.isArray(b)) {
    differ(path, a, b, into);
    return;
  }
  if (arrayA) {
    const listA = a as unknown[];
    const listB = b as unknown[];
    const length = Math.max(listA.length, listB.length);
    for (let i = 0; i < length; i++) {
      path.push(i);
      if (i >= listA.length) differ(path, MISSING, listB[i], into);
      else if (i >= listB.length) differ(path, listA[i], MISSING, into);
      else compareValues(listA[i], listB[i], path, into);
      path.pop();
    }
    return;
  }
  const objectA = a as Record<string, unknown>;
  const objectB = b as Record<string, unknown>;
  for (const key in objectA) {
    path.push(key);
    if (Object.hasOwn(objectB, key)) compareValues(objectA[key], objectB[key], path, into);
    else differ(path, objectA[key], MISSING, into);
    path.pop();
  }
  for (const key in objectB) {
    if (Object.hasOwn(objectA, key)) continue;
    path.push(key);
    differ(path, MISSING, objectB[key], into);
    path.pop();
  }
}

/** A value as a sample shows it: JSON text (`missing` where absent, `N bytes: …` for raw bytes), cut to `max`. */
export function preview(value: unknown, max = 200): string {
  let text: string;
  if (value === MISSING) text = 'missing';
  else if (Buffer.isBuffer(value)) text = `${value.length} bytes: ${value.subarray(0, max).toString('utf8')}`;
  else if (typeof value !== 'object' || value === null) text = JSON.stringify(value);
  else text = boundedJson(value, max);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** JSON text of an object or array, built only until it is longer than `max`. */
function boundedJson(value: object, max: number): string {
  let text = '';
  const write = (node: unknown): void => {
    if (text.length > max) return;
    if (typeof node !== 'object' || node === null) {
      text += JSON.stringify(node) ?? 'null';
    } else if (Array.isArray(node)) {
      text += '[';
      for (let i = 0; i < node.length && text.length <= max; i++) {
        if (i > 0) text += ',';
        write(node[i]);
      }
      text += ']';
    } else {
      text += '{';
      let first = true;
      for (const key in node) {
        if (text.length > max) break;
        text += `${first ? '' : ','}${JSON.stringify(key)}:`;
        first = false;
        write((node as Record<string, unknown>)[key]);
      }
      text += '}';
    }
  };
  write(value);
  return text;
}
