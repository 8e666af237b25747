import { describe, expect, it } from 'vitest';
import { call, createUser, useApp } from './helpers.js';

const app = useApp();

const year2023 = { start_date: '2023-01-01T00:00:00Z', end_date: '2023-12-31T23:59:59Z' };

describe('/api/subscriptions', () => {
  it('creates a subscription and reads it back with ISO 8601 dates', async () => {
    const user = await createUser(app());
    const created = await call(app(), 'POST', '/api/subscriptions', {
      user_id: user.id,
      plan_type: 'premium',
      ...year2023,
    });
    expect(created.statusCode).toBe(201);
    const subscription = created.json();
    expect(subscription).toEqual({
      id: expect.any(Number),
      user_id: user.id,
      plan_type: 'premium',
      start_date: '2023-01-01T00:00:00.000Z',
      end_date: '2023-12-31T23:59:59.000Z',
    });
    const one = await call(app(), 'GET', `/api/subscriptions?id=${subscription.id}`);
    expect(one.json()).toEqual(subscription);
  });

  it('normalizes a date-time with an offset to UTC', async () => {
    const user = await createUser(app());
    const res = await call(app(), 'POST', '/api/subscriptions', {
      user_id: user.id,
      plan_type: 'basic',
      start_date: '2024-06-01T02:00:00+02:00',
      end_date: '2024-07-01T00:00:00Z',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().start_date).toBe('2024-06-01T00:00:00.000Z');
  });

  it('filters the list by user_id', async () => {
    const alice = await createUser(app());
    const bob = await createUser(app());
    await call(app(), 'POST', '/api/subscriptions', { user_id: alice.id, plan_type: 'basic', ...year2023 });
    await call(app(), 'POST', '/api/subscriptions', { user_id: bob.id, plan_type: 'premium', ...year2023 });
    const res = await call(app(), 'GET', `/api/subscriptions?user_id=${alice.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([expect.objectContaining({ user_id: alice.id, plan_type: 'basic' })]);
  });

  it('refuses a subscription for a user that does not exist with a 400', async () => {
    const res = await call(app(), 'POST', '/api/subscriptions', {
      user_id: 2147483647,
      plan_type: 'basic',
      ...year2023,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'body.user_id: user 2147483647 does not exist' });
  });

  it.each([
    [{ plan_type: 'basic', ...year2023 }, /body\.user_id/],
    [{ user_id: 1, ...year2023 }, /body\.plan_type/],
    [
      { user_id: 1, plan_type: 'basic', ...year2023, start_date: 'tomorrow' },
      /body\.start_date: must be an RFC 3339/,
    ],
    [
      { user_id: 1, plan_type: 'basic', ...year2023, end_date: '2023-12-31' },
      /body\.end_date: must be an RFC 3339/,
    ],
    [{ user_id: 1, plan_type: 'basic', ...year2023, end_date: '2023-02-30T00:00:00Z' }, /body\.end_date/],
    [
      { user_id: 1, plan_type: 'basic', ...year2023, start_date: '0000-01-01T00:00:00+01:00' },
      /body\.start_date: must fall in the years 0000 to 9999/,
    ],
    [{ user_id: 1, plan_type: 'basic', ...year2023, end_date: null }, /body\.end_date/],
    [{ user_id: 1, plan_type: 'basic', ...year2023, end_date: '2023-12-31t23:59:59z' }, /body\.end_date/],
    [
      {
        user_id: 1,
        plan_type: 'basic',
        start_date: '2023-12-31T00:00:00Z',
        end_date: '2023-01-01T00:00:00Z',
      },
      /body\.end_date: must not be before start_date/,
    ],
  ])('refuses the body %j with a 400 naming the field', async (body, message) => {
    const res = await call(app(), 'POST', '/api/subscriptions', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(message);
  });

  it('refuses a non-numeric user_id with a 400 and an unknown id with a 404', async () => {
    const bad = await call(app(), 'GET', '/api/subscriptions?user_id=1.0');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/^query\.user_id: /);
    const missing = await call(app(), 'GET', '/api/subscriptions?id=2147483647');
    expect(missing.statusCode).toBe(404);
  });
});
