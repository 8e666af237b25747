import { isCovered, type Sample, SHADOW_RESULTS, toPattern } from '@cinemaabyss/admin-contract';
import type { Redis } from 'ioredis';
import type { ClusterCounters } from '../redis/cluster-counters.js';
import type { MetricFamily, Sample as MetricSample } from '../telemetry/exposition.js';
import { type Difference, preview } from './compare.js';

export { SHADOW_RESULTS };
export type ShadowResult = (typeof SHADOW_RESULTS)[number];

/** Samples kept per flag and report; they hold user data, so they are few and expire. */
export const SAMPLE_LIMIT = 20;
const SAMPLE_DIFFERENCES = 20;
/** Distinct difference sets and noise patterns one replica counts per flag and report (docs/gateway.md, Shadow traffic). */
export const PATTERN_LIMIT = 128;
const SIGNATURE_PATHS = 32;
const SIGNATURE_CHARS = 4_000;
/** Flags × reports whose bounds this replica remembers. */
const SERIES_LIMIT = 64;

/**
 * Fields of a flag's shadow series in ClusterCounters. A comparison with differences is counted under its
 * signature, the set of patterns that differed (`sig:$.rating\n$.served_at`), so the report can leave out
 * noise learnt after the comparison, from any replica, exactly.
 */
export const FIELD = {
  compared: 'compared',
  errors: 'errors',
  dropped: 'dropped',
  skipped: 'skipped',
  probes: 'probes',
  /** Comparisons whose differences were too many to count by signature: always mismatches. */
  unclassified: 'unclassified',
  signature: 'sig:',
  noise: 'noise:',
} as const;

/** Start of a report as the series names it (0 when never set). */
export const epochOf = (since: string | null) => (since === null ? 0 : Date.parse(since));
export const seriesOf = (flag: string, since: string | null) => `shadow:${flag}:${epochOf(since)}`;
export const samplesKey = (flag: string, since: string | null) =>
  `cinemaabyss:shadow-samples:${flag}:${epochOf(since)}`;

export interface SampleContext {
  method: string;
  /** Path and query. */
  url: string;
  userId: string | undefined;
  /** Which side answered the client. */
  chosen: 'old' | 'new';
}

export type { Sample };

export interface RecorderOptions {
  /** How long samples live in Redis. */
  sampleTtlSeconds?: number;
  /** How often samples are written to Redis (the counts go with ClusterCounters' own flush). */
  flushMs?: number;
}

interface SeriesState {
  series: string;
  samplesKey: string;
  signatures: Set<string>;
  noise: Set<string>;
  samples: string[];
}

const ignorePatterns = new WeakMap<readonly string[], ReadonlySet<string>>();
/** The ignore list as patterns, computed once per list the flag store holds. */
function patternsOf(ignore: readonly string[]): ReadonlySet<string> {
  let patterns = ignorePatterns.get(ignore);
  if (!patterns) {
    patterns = new Set(ignore.map(toPattern).filter((p): p is string => typeof p === 'string'));
    ignorePatterns.set(ignore, patterns);
  }
  return patterns;
}

/**
 * Records shadow outcomes of this replica: counts into ClusterCounters (summed over the cluster, written
 * off the request path in batches), the last mismatch samples into a capped Redis list with a TTL, and
 * `gateway_shadow_total` in plain numbers for /metrics. Every method is synchronous and does no I/O.
 */
export class ShadowRecorder {
  private readonly series = new Map<string, SeriesState>();
  private readonly totals = new Map<string, number[]>();
  private readonly sampleTtlSeconds: number;
  private readonly flushMs: number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Samples not written because Redis failed (they are not retried: newer ones follow). */
  lostSamples = 0;

  constructor(
    private readonly redis: Redis,
    private readonly counters: ClusterCounters,
    options: RecorderOptions = {},
  ) {
    this.sampleTtlSeconds = options.sampleTtlSeconds ?? 3_600;
    this.flushMs = options.flushMs ?? 1_000;
  }

  start(): this {
    this.timer ??= setInterval(() => void this.flush().catch(() => {}), this.flushMs);
    this.timer.unref();
    return this;
  }

  /** A request that was not compared: the shadow side failed, the cap was reached, or a body was too large. */
  count(flag: string, since: string | null, result: 'error' | 'dropped' | 'skipped'): void {
    const field = result === 'error' ? FIELD.errors : result === 'dropped' ? FIELD.dropped : FIELD.skipped;
    this.counters.add(seriesOf(flag, since), field);
    this.total(flag, result);
  }

  /** Differences between two answers of the same side: their patterns are noise for this flag. */
  noise(flag: string, since: string | null, differences: readonly Difference[]): void {
    const state = this.state(flag, since);
    const { series } = state;
    this.counters.add(series, FIELD.probes);
    for (const pattern of new Set(differences.map((d) => d.pattern))) {
      if (!state.noise.has(pattern) && state.noise.size >= PATTERN_LIMIT) continue;
      state.noise.add(pattern);
      this.counters.add(series, FIELD.noise + pattern);
    }
  }

  /**
   * One comparison of the old side's answer with the new side's. Returns how /metrics counted it: a
   * mismatch unless every difference is ignored or noise this replica knows of (the report reclassifies
   * with the noise every replica found).
   */
  compared(
    flag: string,
    since: string | null,
    ignore: readonly string[],
    differences: readonly Difference[],
    status: { old: number; new: number },
    context: SampleContext,
  ): 'match' | 'mismatch' {
    const state = this.state(flag, since);
    const { series } = state;
    this.counters.add(series, FIELD.compared);
    if (differences.length === 0) return this.total(flag, 'match');

    const patterns = [...new Set(differences.map((d) => d.pattern))].sort();
    const signature = patterns.join('\n');
    const countable =
      patterns.length <= SIGNATURE_PATHS &&
      signature.length <= SIGNATURE_CHARS &&
      (state.signatures.has(signature) || state.signatures.size < PATTERN_LIMIT);
    if (countable) {
      state.signatures.add(signature);
      this.counters.add(series, FIELD.signature + signature);
    } else {
      this.counters.add(series, FIELD.unclassified);
    }

    const ignored = patternsOf(ignore);
    const counts = (d: Difference) => !isCovered(d.pattern, ignored) && !isCovered(d.pattern, state.noise);
    if (countable && !differences.some(counts)) return this.total(flag, 'match');

    // Differences that count first, so noise never crowds them out of the sample.
    const shown = differences.filter(counts).concat(differences.filter((d) => !counts(d)));
    const sample: Sample = {
      at: new Date().toISOString(),
      method: context.method,
      url: context.url.slice(0, 2_000),
      userId: context.userId === undefined ? null : context.userId.slice(0, 200),
      chosen: context.chosen,
      status,
      differences: shown
        .slice(0, SAMPLE_DIFFERENCES)
        .map((d) => ({ path: d.path, old: preview(d.a), new: preview(d.b) })),
    };
    state.samples.push(JSON.stringify(sample));
    if (state.samples.length > SAMPLE_LIMIT) state.samples.shift();
    return this.total(flag, 'mismatch');
  }

  /** `gateway_shadow_total`, for the gateway's exposition. */
  metricFamilies(): MetricFamily[] {
    const samples: MetricSample[] = [];
    for (const [flag, counts] of this.totals)
      SHADOW_RESULTS.forEach((result, i) => {
        samples.push({ labels: { flag, result }, value: counts[i]! });
      });
    return [
      {
        name: 'gateway_shadow_total',
        help: 'Shadowed requests by flag and result',
        type: 'counter',
        samples,
      },
    ];
  }

  /** Writes the samples kept since the last flush; one transaction per flush. */
  flush(): Promise<void> {
    this.flushing ??= this.writeSamples().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => {});
  }

  private async writeSamples(): Promise<void> {
    const batches = [...this.series.values()].filter((state) => state.samples.length > 0);
    if (batches.length === 0) return;
    const transaction = this.redis.multi();
    let pending = 0;
    for (const state of batches) {
      transaction.lpush(state.samplesKey, ...state.samples);
      transaction.ltrim(state.samplesKey, 0, SAMPLE_LIMIT - 1);
      transaction.expire(state.samplesKey, this.sampleTtlSeconds);
      pending += state.samples.length;
      state.samples = [];
    }
    try {
      const results = (await transaction.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
    } catch (error) {
      this.lostSamples += pending;
      throw error;
    }
  }

  private state(flag: string, since: string | null): SeriesState {
    const series = seriesOf(flag, since);
    let state = this.series.get(series);
    if (!state) {
      if (this.series.size >= SERIES_LIMIT) {
        // The oldest series is a flag's earlier report, or a flag long quiet.
        const oldest = this.series.keys().next().value!;
        this.series.delete(oldest);
      }
      state = {
        series,
        samplesKey: samplesKey(flag, since),
        signatures: new Set(),
        noise: new Set(),
        samples: [],
      };
      this.series.set(series, state);
    }
    return state;
  }

  private total<R extends ShadowResult>(flag: string, result: R): R {
    let counts = this.totals.get(flag);
    if (!counts) {
      counts = SHADOW_RESULTS.map(() => 0);
      this.totals.set(flag, counts);
    }
    counts[SHADOW_RESULTS.indexOf(result)]!++;
    return result;
  }
}
