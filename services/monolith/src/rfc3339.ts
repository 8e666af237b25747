import { z } from 'zod';

/** A point in time as a client sent it, with what PostgreSQL needs and what comparing needs. */
export interface Instant {
  /** The text for a timestamptz parameter; ISO year 0000 is 1 BC, the only spelling PostgreSQL takes. */
  sql: string;
  /** Whole seconds since 1970 (UTC) and the fraction's digits up to nanoseconds, for exact ordering. */
  seconds: number;
  nanos: string;
}

// Go's time.Time took exactly RFC 3339 from JSON (Go 1.20+): a four-digit year, `T`, seconds, an optional
// fraction of any length (nanoseconds kept), and `Z` or a ±hh:mm offset.
const rfc3339 =
  /^(?<year>\d{4})-(?<month>\d\d)-(?<day>\d\d)T(?<hour>\d\d):(?<minute>\d\d):(?<second>\d\d)(?:\.(?<fraction>\d+))?(?:Z|(?<sign>[+-])(?<offsetHours>\d\d):(?<offsetMinutes>\d\d))$/;
const message = 'must be an RFC 3339 date-time with a time zone, e.g. 2023-01-01T00:00:00Z';

function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/** Parses what the original accepted; undefined for anything else. */
export function parseInstant(text: string): Instant | undefined {
  const parts = rfc3339.exec(text)?.groups;
  if (!parts) return undefined;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [
    parts.year,
    parts.month,
    parts.day,
    parts.hour,
    parts.minute,
    parts.second,
    parts.offsetHours,
    parts.offsetMinutes,
  ].map((part) => Number(part ?? 0)) as [number, number, number, number, number, number, number, number];
  const valid =
    month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month) && hour <= 23 && minute <= 59;
  if (!valid || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0-99 as 1900-1999
  utc.setUTCHours(hour, minute, second);
  const offset = (parts.sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60;
  const fraction = (parts.fraction ?? '').slice(0, 9); // Go keeps nanoseconds and drops further digits
  const zone = parts.sign ? `${parts.sign}${parts.offsetHours}:${parts.offsetMinutes}` : 'Z';
  const spelled = `${text.slice(0, 19)}${fraction ? `.${fraction}` : ''}${zone}`;
  return {
    sql: year === 0 ? `0001${spelled.slice(4)} BC` : spelled,
    seconds: utc.getTime() / 1000 - offset,
    nanos: fraction.padEnd(9, '0'),
  };
}

/** True when `a` is earlier than `b`, to the nanosecond. */
export function isBefore(a: Instant, b: Instant): boolean {
  return a.seconds < b.seconds || (a.seconds === b.seconds && a.nanos < b.nanos);
}

/**
 * A date-time field: what the original accepted, as an Instant. Only years 0000-9999 in UTC: the original's
 * JSON encoder cannot write a time outside them, so one such row broke every later list of subscriptions.
 */
export const instant = z.string({ error: message }).transform((text, context) => {
  const parsed = parseInstant(text);
  if (!parsed) {
    context.addIssue({ code: 'custom', message });
    return z.NEVER;
  }
  // PostgreSQL keeps microseconds, rounding: 23:59:59.9999995 is stored as the next second.
  const stored = parsed.seconds + (parsed.nanos >= '999999500' ? 1 : 0);
  const year = new Date(stored * 1000).getUTCFullYear();
  if (year < 0 || year > 9999) {
    context.addIssue({ code: 'custom', message: 'must fall in the years 0000 to 9999 (UTC)' });
    return z.NEVER;
  }
  return parsed;
});

/**
 * ISO 8601 at millisecond precision from PostgreSQL's exact epoch (`-62162035200.000001`). Read as epoch,
 * because node-postgres misreads BC timestamps (1 BC is ISO year 0000, which the original accepted).
 */
export function epochToIso(epoch: string): string {
  const [whole = '0', fraction = ''] = epoch.split('.');
  const sign = whole.startsWith('-') ? -1n : 1n;
  const micros = BigInt(whole) * 1_000_000n + sign * BigInt(fraction.padEnd(6, '0').slice(0, 6));
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n); // floor: digits are cut, not rounded
  return new Date(Number(millis)).toISOString();
}
