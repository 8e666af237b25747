/**
 * Paths into a JSON body, in the one syntax the diff prints and the operator writes in `ignore`:
 * `$` is the body, `.name` a key made of letters, digits, `_` and `-` (starting with a letter or `_`),
 * `["any key"]` any other key (a JSON string), `[3]` an array index and `[*]` every index.
 *
 * Noise and ignore work on patterns: the path with every index written `[*]`, so a noisy `$[3].served_at`
 * makes `$[*].served_at` noise, and `ignore: ["$.items[0].id"]` means every item's id. A pattern covers
 * itself and everything below it (`$.meta` covers `$.meta.served_at`).
 */

/** A key (string) or an array index (number; -1 is `[*]`). */
export type Segment = string | number;

export const WILDCARD = -1;
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** The path's text; with `pattern`, every index is written `[*]`. */
export function formatPath(segments: readonly Segment[], pattern = false): string {
  let text = '$';
  for (const segment of segments) text += formatSegment(segment, pattern);
  return text;
}

export function formatSegment(segment: Segment, pattern = false): string {
  if (typeof segment === 'number') return pattern || segment < 0 ? '[*]' : `[${segment}]`;
  return PLAIN_KEY.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`;
}

/** Parses a path the operator wrote; returns the segments, or a message saying what is wrong. */
export function parsePath(text: string): Segment[] | string {
  if (!text.startsWith('$')) return 'must start with $ (like $.served_at)';
  const segments: Segment[] = [];
  let i = 1;
  while (i < text.length) {
    if (text[i] === '.') {
      const match = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i + 1));
      if (!match) return `expected a key after "." at character ${i + 1}`;
      segments.push(match[0]);
      i += 1 + match[0].length;
    } else if (text[i] === '[') {
      const close = text.startsWith('["', i) ? closingQuote(text, i + 2) : text.indexOf(']', i);
      if (close < 0 || text[close] !== ']') return `unclosed "[" at character ${i}`;
      const inside = text.slice(i + 1, close);
      if (inside === '*') segments.push(WILDCARD);
      else if (/^\d{1,9}$/.test(inside)) segments.push(Number(inside));
      else if (inside.startsWith('"')) {
        const key = parseKey(inside);
        if (key === undefined) return `${inside} is not a valid JSON string`;
        segments.push(key);
      } else return `"[${inside}]" must be an index like [3], [*] or a quoted key like ["a b"]`;
      i = close + 1;
    } else {
      return `unexpected "${text[i]}" at character ${i}; use .key, [3], [*] or ["key"]`;
    }
  }
  return segments;
}

function parseKey(quoted: string): string | undefined {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return undefined;
  }
}

/** Index just after the JSON string starting before `from`, if a `]` follows it; -1 otherwise. */
function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  return -1;
}

/** The pattern of a path the operator wrote, or a message saying what is wrong. */
export function toPattern(text: string): string | { error: string } {
  const segments = parsePath(text);
  return typeof segments === 'string' ? { error: segments } : formatPath(segments, true);
}

/**
 * Whether `pattern` (from formatPath(…, true)) is in `covering` or below one of its entries. Checks the
 * pattern and each of its ancestors (cut where a `.` or `[` starts a segment, outside quoted keys) with
 * one set lookup each: no parsing, no allocation beyond the prefixes.
 */
export function isCovered(pattern: string, covering: ReadonlySet<string>): boolean {
  if (covering.size === 0) return false;
  if (covering.has(pattern)) return true;
  let quoted = false;
  for (let i = 1; i < pattern.length; i++) {
    const char = pattern[i];
    if (quoted) {
      if (char === '\\') i++;
      else if (char === '"') quoted = false;
    } else if (char === '"') {
      quoted = true;
    } else if ((char === '.' || char === '[') && covering.has(pattern.slice(0, i))) {
      return true;
    }
  }
  return false;
}
