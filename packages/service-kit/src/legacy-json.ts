import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import { HttpError } from './errors.js';

// The original system decoded request bodies with Go's encoding/json, and its clients rely on how that
// behaves: the Content-Type is never looked at, the first JSON value counts, and object keys match fields
// in any letter case. This module reproduces exactly that, so a client cannot tell the difference.

/**
 * Parses every request body as JSON whatever its Content-Type says (none, `curl -d`'s form-urlencoded,
 * text/plain, ...). Only the first JSON value counts, as with Go's json.Decoder; a body that does not start
 * with one is a 400. Of top-level keys that differ only in letter case, the last one wins.
 */
export const legacyJsonBody = fp(
  async (app: FastifyInstance) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, parseLegacyJson(body as string));
      } catch (error) {
        done(new HttpError(400, `body: not valid JSON (${(error as Error).message})`), undefined);
      }
    });
  },
  { name: 'legacy-json-body' },
);

/** The first JSON value of `text`, objects with one member per case-insensitive key (the last one). */
export function parseLegacyJson(text: string): unknown {
  const start = skipSpace(text, 0);
  const json = text.slice(start, valueEnd(text, start));
  const value: unknown = JSON.parse(json);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const byKey = new Map<string, [string, unknown]>();
  for (const [key, member] of members(json)) {
    byKey.delete(foldKey(key)); // a later spelling replaces an earlier one and takes its place at the end
    byKey.set(foldKey(key), [key, member]);
  }
  return Object.fromEntries(byKey.values());
}

/**
 * A zod object whose keys match in any letter case (`Title`, `USER_ID`), as Go's decoder matched struct
 * fields; when several keys fold to one field, the last wins.
 */
export function legacyObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const fields = new Map(Object.keys(shape).map((name) => [foldKey(name), name]));
  return z.preprocess((value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    // fromEntries, not assignment: a `__proto__` key must stay a plain member.
    return Object.fromEntries(
      Object.entries(value).map(([key, member]) => [fields.get(foldKey(key)) ?? key, member]),
    );
  }, z.object(shape));
}

/** Go's case folding of field names: upper(lower(c)) per character, single characters only. */
export function foldKey(key: string): string {
  let folded = '';
  for (const char of key) {
    const lower = [...char.toLowerCase()][0] ?? char; // İ lowers to i + a combining dot: keep the i
    const upper = lower.toUpperCase();
    folded += [...upper].length === 1 ? upper : lower; // ß stays ß, as Go's simple mapping has it
  }
  return folded;
}

// A scanner just good enough to find where values and members of JSON text end. JSON.parse judges
// validity: on invalid text these return some position and the parse of that slice fails.

function skipSpace(text: string, at: number): number {
  while (at < text.length && ' \t\n\r'.includes(text[at] as string)) at++;
  return at;
}

function stringEnd(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

function valueEnd(text: string, at: number): number {
  const first = text[at];
  if (first === '"') return stringEnd(text, at);
  if (first !== '{' && first !== '[') {
    let i = at;
    while (i < text.length && !' \t\n\r,:]}{["'.includes(text[i] as string)) i++;
    return i;
  }
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const char = text[i];
    if (char === '"') i = stringEnd(text, i) - 1;
    else if (char === '{' || char === '[') depth++;
    else if ((char === '}' || char === ']') && --depth === 0) return i + 1;
  }
  return text.length;
}

/** The members of valid JSON object text in textual order, duplicates included. */
function members(json: string): [string, unknown][] {
  const found: [string, unknown][] = [];
  let at = skipSpace(json, 1);
  while (json[at] === '"') {
    const keyEnd = stringEnd(json, at);
    const key = JSON.parse(json.slice(at, keyEnd)) as string;
    const start = skipSpace(json, skipSpace(json, keyEnd) + 1); // past the colon
    const end = valueEnd(json, start);
    found.push([key, JSON.parse(json.slice(start, end))]);
    at = skipSpace(json, end);
    if (json[at] === ',') at = skipSpace(json, at + 1);
  }
  return found;
}
