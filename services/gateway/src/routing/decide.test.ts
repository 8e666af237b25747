import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decide, type FlagState, fallbackDecision, planRoute } from './decide.js';
import { type Policy, policySchema } from './policy.js';

const policy = (flag: Record<string, unknown> = {}): Policy =>
  policySchema.parse({
    upstreams: { old: 'http://127.0.0.1:1', new: 'http://127.0.0.1:2' },
    routes: [
      { prefix: '/api/users', upstream: 'old', migrate: { flag: 'users', to: 'new' } },
      { prefix: '/api', upstream: 'old' },
    ],
    flags: { users: flag },
  });

const state = (percent: number, lists: { allow?: string[]; deny?: string[] } = {}): FlagState => ({
  enabled: true,
  percent,
  allow: new Set(lists.allow),
  deny: new Set(lists.deny),
});

describe('decide', () => {
  const plan = planRoute(
    policy({ methods: ['GET', 'HEAD'], force: 'X-Migration-Force' }),
    policy().routes[0]!,
  );
  const userAt = (percent: number) => {
    for (let id = 0; ; id++) {
      const decision = decide(plan, state(percent), 'GET', { 'x-user-id': String(id) });
      if (!decision.toNew) return String(id);
    }
  };

  it('sends a route without a migration to its upstream', () => {
    const plain = planRoute(policy(), policy().routes[1]!);
    expect(decide(plain, undefined, 'GET', {})).toEqual({ upstream: 'old', reason: 'route', toNew: false });
  });

  it('pins a request by the force header both ways, before anything else', () => {
    expect(decide(plan, state(0), 'POST', { 'x-migration-force': 'new' })).toMatchObject({
      upstream: 'new',
      reason: 'force',
    });
    expect(decide(plan, state(100), 'GET', { 'x-migration-force': 'OLD' })).toMatchObject({
      upstream: 'old',
      reason: 'force',
    });
    expect(decide(plan, state(100), 'GET', { 'x-migration-force': 'maybe' }).reason).toBe('percent');
  });

  it('keeps methods outside the scope on the old side at 100 %, even for allowed users', () => {
    const decision = decide(plan, state(100, { allow: ['7'] }), 'POST', { 'x-user-id': '7' });
    expect(decision).toMatchObject({ upstream: 'old', reason: 'method' });
    expect(decide(plan, state(100), 'HEAD', {})).toMatchObject({ upstream: 'new', reason: 'percent' });
  });

  it('lets the allow list win over 0 % and the deny list over 100 %', () => {
    expect(decide(plan, state(0, { allow: ['7'] }), 'GET', { 'x-user-id': '7' })).toMatchObject({
      upstream: 'new',
      reason: 'allow',
    });
    expect(decide(plan, state(100, { deny: ['7'] }), 'GET', { 'x-user-id': '7' })).toMatchObject({
      upstream: 'old',
      reason: 'deny',
    });
    expect(decide(plan, state(100, { deny: ['7'] }), 'GET', { 'x-user-id': '8' }).reason).toBe('percent');
  });

  it('buckets by the configured stickiness header', () => {
    const bySession = planRoute(policy({ stickiness: 'x-session-id' }), policy().routes[0]!);
    const user = userAt(50);
    const never = () => 0.99;
    expect(decide(bySession, state(50), 'GET', { 'x-session-id': user }, never).toNew).toBe(false);
    expect(decide(bySession, state(50), 'GET', { 'x-user-id': user }, () => 0).toNew).toBe(true);
  });

  it('sends everything in scope to the new side when the flag is disabled (migration finished)', () => {
    const finished = { ...state(0), enabled: false };
    expect(decide(plan, finished, 'GET', { 'x-user-id': '1' })).toMatchObject({ upstream: 'new' });
    expect(decide(plan, finished, 'DELETE', {})).toMatchObject({ upstream: 'old', reason: 'method' });
  });

  it('returns the same frozen decision objects, so deciding allocates nothing', () => {
    const a = decide(plan, state(100), 'GET', {});
    expect(decide(plan, state(100), 'GET', {})).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(fallbackDecision(plan)).toMatchObject({ upstream: 'old', reason: 'fallback' });
  });
});

// The gradual-rollout cases of Unleash's client specification, run through `decide`: a flag named by the
// strategy's groupId, its stickiness field carried in a header. Cases without a stickiness value are left
// out: Unleash counts such a request out of the rollout, the gateway splits it at random (docs/gateway.md).
describe('Unleash client specification', () => {
  interface Strategy {
    name: string;
    parameters?: Record<string, string>;
    constraints?: unknown[];
  }
  interface Spec {
    state: { features: { name: string; enabled: boolean; strategies: Strategy[] }[] };
    tests: {
      description: string;
      context: Record<string, string> & { properties?: Record<string, string> };
      toggleName: string;
      expectedResult: boolean;
    }[];
  }
  const require = createRequire(import.meta.url);
  const files = [
    '03-gradual-rollout-user-id-strategy.json',
    '04-gradual-rollout-session-id-strategy.json',
    '10-flexible-rollout-strategy.json',
    '12-custom-stickiness.json',
  ];
  const cases = files.flatMap((file) => {
    const spec = require(`@unleash/client-specification/specifications/${file}`) as Spec;
    return spec.tests.flatMap((test) => {
      const feature = spec.state.features.find((f) => f.name === test.toggleName)!;
      const [strategy, ...others] = feature.strategies;
      if (!strategy || others.length > 0 || (strategy.constraints?.length ?? 0) > 0) return [];
      const p = strategy.parameters ?? {};
      const fixed = { gradualRolloutUserId: 'userId', gradualRolloutSessionId: 'sessionId' }[strategy.name];
      let field = fixed ?? p.stickiness;
      if (field === 'default') field = test.context.userId ? 'userId' : 'sessionId';
      if (!field) return [];
      const value = test.context[field] ?? test.context.properties?.[field];
      if (value === undefined) return [];
      const header = `x-${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      const percent = Number(p.percentage ?? p.rollout);
      return [
        { ...test, groupId: p.groupId ?? feature.name, header, value, percent, enabled: feature.enabled },
      ];
    });
  });

  it('covers the cases that carry a stickiness value', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(cases)('$description', ({ groupId, header, value, percent, enabled, expectedResult }) => {
    const flagName = groupId
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^[^a-z]+/, 'f-');
    const p = policySchema.parse({
      upstreams: { old: 'http://127.0.0.1:1', new: 'http://127.0.0.1:2' },
      routes: [{ prefix: '/api', upstream: 'old', migrate: { flag: flagName, to: 'new' } }],
      flags: { [flagName]: { stickiness: header } },
    });
    const plan = planRoute(p, p.routes[0]!);
    // The bucket is murmur3("<groupId>:<value>"), so the flag keeps Unleash's groupId as its bucket key.
    const withGroup = { ...plan, migration: { ...plan.migration!, flag: groupId } };
    const decision = decide(withGroup, { ...state(percent), enabled }, 'GET', { [header]: value });
    expect(decision.toNew).toBe(expectedResult);
  });
});
