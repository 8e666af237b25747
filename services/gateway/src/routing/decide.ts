import type { IncomingHttpHeaders } from 'node:http';
import { effectivePercent } from '../flags/record.js';
import { goesToNew } from './bucketing.js';
import type { Policy, PolicyRoute } from './policy.js';

/** Why a request went where it did; counted in /metrics and named in the access log. */
export type Reason = 'route' | 'force' | 'method' | 'allow' | 'deny' | 'percent' | 'fallback';

/** A flag's runtime value as the decision reads it (allow and deny as sets: 1000 ids, one lookup). */
export interface FlagState {
  enabled: boolean;
  percent: number;
  allow: ReadonlySet<string>;
  deny: ReadonlySet<string>;
}

export interface Decision {
  readonly upstream: string;
  readonly reason: Reason;
  /** True when the request goes to the migration's new side. */
  readonly toNew: boolean;
}

/** One route of the policy, prepared once so that deciding a request allocates nothing. */
export interface RoutePlan {
  readonly prefix: string;
  readonly upstream: string;
  readonly migration: MigrationPlan | undefined;
  /** The decision of a route without a migration. */
  readonly fixed: Decision;
}

interface MigrationPlan {
  readonly flag: string;
  readonly to: string;
  readonly stickiness: string;
  readonly force: string | undefined;
  readonly methods: ReadonlySet<string> | undefined;
  readonly toOld: Record<Reason, Decision>;
  readonly toNew: Record<Reason, Decision>;
}

const REASONS: Reason[] = ['route', 'force', 'method', 'allow', 'deny', 'percent', 'fallback'];
const decisions = (upstream: string, toNew: boolean) =>
  Object.fromEntries(REASONS.map((reason) => [reason, Object.freeze({ upstream, reason, toNew })])) as Record<
    Reason,
    Decision
  >;

export function planRoute(policy: Policy, route: PolicyRoute): RoutePlan {
  const fixed = Object.freeze({ upstream: route.upstream, reason: 'route' as const, toNew: false });
  if (!route.migrate) return { prefix: route.prefix, upstream: route.upstream, migration: undefined, fixed };
  const { flag, to } = route.migrate;
  const settings = policy.flags[flag]!;
  return {
    prefix: route.prefix,
    upstream: route.upstream,
    fixed,
    migration: {
      flag,
      to,
      stickiness: settings.stickiness,
      force: settings.force,
      methods: settings.methods && new Set(settings.methods),
      toOld: decisions(route.upstream, false),
      toNew: decisions(to, true),
    },
  };
}

const firstValue = (value: string | string[] | undefined) => (typeof value === 'string' ? value : value?.[0]);

/**
 * Where a request goes, and why. In this order: the force header; the method scope (other methods stay
 * on the old side); the allow list (always new) and the deny list (never); then the sticky percent, in
 * Unleash-compatible buckets of the stickiness header (a request without it is split at random). A
 * disabled flag means the migration is finished: everything in scope goes to the new side.
 */
export function decide(
  route: RoutePlan,
  flag: FlagState | undefined,
  method: string,
  headers: IncomingHttpHeaders,
  random: () => number = Math.random,
): Decision {
  const migration = route.migration;
  if (!migration) return route.fixed;
  const { toOld, toNew } = migration;
  if (migration.force) {
    const forced = firstValue(headers[migration.force])?.toLowerCase();
    if (forced === 'new') return toNew.force;
    if (forced === 'old') return toOld.force;
  }
  if (migration.methods && !migration.methods.has(method)) return toOld.method;
  if (!flag) return toOld.percent;
  const key = firstValue(headers[migration.stickiness]);
  if (key !== undefined && key !== '') {
    if (flag.allow.has(key)) return toNew.allow;
    if (flag.deny.has(key)) return toOld.deny;
  }
  return goesToNew(migration.flag, effectivePercent(flag), key, random) ? toNew.percent : toOld.percent;
}

/** The decision when the new side could not be reached and the old side answers instead. */
export const fallbackDecision = (route: RoutePlan): Decision =>
  route.migration?.toOld.fallback ?? route.fixed;
