import { isCovered, type PathReport, type ShadowReport, toPattern } from '@cinemaabyss/admin-contract';
import type { Redis } from 'ioredis';
import type { ClusterCounters } from '../redis/cluster-counters.js';
import { epochOf, FIELD, SAMPLE_LIMIT, type Sample, samplesKey, seriesOf } from './recorder.js';
import type { ShadowSettings } from './settings.js';

export type { PathReport, ShadowReport };

export interface ReportOptions {
  /** How long ClusterCounters keeps a window (its retentionSeconds). */
  retentionSeconds?: number;
  now?: number;
  /** Only the comparisons of this time range (a rollout's window) instead of the whole report. */
  window?: { fromMs: number; toMs: number };
}

/**
 * GET /admin/flags/:name/shadow: the cluster's sums since the report's epoch, with ignored and noise
 * patterns left out. A comparison is a mismatch when one of its differences is neither ignored nor noise;
 * noise found by any replica, at any time in the report, counts, because comparisons are stored by the
 * set of patterns that differed. Samples show only the differences that count.
 */
export async function buildShadowReport(
  redis: Redis,
  counters: ClusterCounters,
  flag: string,
  settings: ShadowSettings,
  options: ReportOptions = {},
): Promise<ShadowReport> {
  const now = options.now ?? Date.now();
  const from = Math.max(
    epochOf(settings.since),
    options.window?.fromMs ?? now - (options.retentionSeconds ?? 3_600) * 1000,
  );
  const to = options.window?.toMs ?? now + 1000;
  const [fields, storedSamples] = await Promise.all([
    counters.read(seriesOf(flag, settings.since), from, to),
    redis.lrange(samplesKey(flag, settings.since), 0, SAMPLE_LIMIT - 1),
  ]);

  const ignored = new Set(settings.ignore.map(toPattern).filter((p): p is string => typeof p === 'string'));
  const paths = new Map<string, PathReport>();
  const path = (pattern: string) => {
    let entry = paths.get(pattern);
    if (!entry) {
      const excluded = isCovered(pattern, ignored) ? 'ignore' : null;
      entry = { path: pattern, mismatches: 0, differed: 0, noise: 0, excluded };
      paths.set(pattern, entry);
    }
    return entry;
  };
  const noise = new Set<string>();
  for (const [field, count] of Object.entries(fields)) {
    if (!field.startsWith(FIELD.noise)) continue;
    const pattern = field.slice(FIELD.noise.length);
    noise.add(pattern);
    path(pattern).noise += count;
  }
  const excluded = (pattern: string) => isCovered(pattern, ignored) || isCovered(pattern, noise);

  let mismatched = fields[FIELD.unclassified] ?? 0;
  for (const [field, count] of Object.entries(fields)) {
    if (!field.startsWith(FIELD.signature)) continue;
    const patterns = field.slice(FIELD.signature.length).split('\n');
    const counted = patterns.filter((pattern) => !excluded(pattern));
    if (counted.length > 0) mismatched += count;
    for (const pattern of patterns) path(pattern).differed += count;
    for (const pattern of counted) path(pattern).mismatches += count;
  }
  for (const entry of paths.values()) {
    if (entry.excluded === null && isCovered(entry.path, noise)) entry.excluded = 'noise';
  }

  const compared = fields[FIELD.compared] ?? 0;
  return {
    percent: settings.percent,
    ignore: settings.ignore,
    since: settings.since,
    from: new Date(from).toISOString(),
    compared,
    matched: compared - mismatched,
    mismatched,
    mismatchRate: compared === 0 ? null : mismatched / compared,
    errors: fields[FIELD.errors] ?? 0,
    dropped: fields[FIELD.dropped] ?? 0,
    skipped: fields[FIELD.skipped] ?? 0,
    probes: fields[FIELD.probes] ?? 0,
    paths: [...paths.values()].sort(
      (a, b) =>
        b.mismatches - a.mismatches ||
        b.differed - a.differed ||
        b.noise - a.noise ||
        (a.path < b.path ? -1 : 1),
    ),
    samples: storedSamples.flatMap((json) => relevant(json, excluded)),
  };
}

/** A stored sample with only the differences that count; none when nothing in it counts any more. */
function relevant(json: string, excluded: (pattern: string) => boolean): Sample[] {
  let sample: Sample;
  try {
    sample = JSON.parse(json) as Sample;
  } catch {
    return [];
  }
  if (!Array.isArray(sample.differences)) return [];
  const differences = sample.differences.filter((difference) => {
    const pattern = difference.path.startsWith('$') ? toPattern(difference.path) : difference.path;
    return typeof pattern !== 'string' || !excluded(pattern);
  });
  return differences.length === 0 ? [] : [{ ...sample, differences }];
}
