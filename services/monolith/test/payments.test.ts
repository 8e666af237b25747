import { describe, expect, it } from 'vitest';
import { call, createUser, useApp } from './helpers.js';

const app = useApp();

describe('/api/payments', () => {
  it('creates a payment with a numeric amount and an ISO 8601 timestamp, and reads it back', async () => {
    const user = await createUser(app());
    const before = Date.now();
    const created = await call(app(), 'POST', '/api/payments', { user_id: user.id, amount: 9.99 });
    expect(created.statusCode).toBe(201);
    const payment = created.json();
    expect(payment).toEqual({
      id: expect.any(Number),
      user_id: user.id,
      amount: 9.99,
      timestamp: expect.any(String),
    });
    expect(payment.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(Date.parse(payment.timestamp)).toBeGreaterThanOrEqual(before - 5_000);

    const one = await call(app(), 'GET', `/api/payments?id=${payment.id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(payment);
  });

  it('keeps cents exact through numeric storage', async () => {
    const user = await createUser(app());
    const res = await call(app(), 'POST', '/api/payments', { user_id: user.id, amount: 1234567.89 });
    expect(res.json().amount).toBe(1234567.89);
    const again = await call(app(), 'POST', '/api/payments', { user_id: user.id, amount: 0.1 + 0.2 });
    expect(again.statusCode).toBe(201);
    expect(again.json().amount).toBe(0.3);
  });

  it('filters the list by user_id', async () => {
    const alice = await createUser(app());
    const bob = await createUser(app());
    await call(app(), 'POST', '/api/payments', { user_id: alice.id, amount: 1 });
    await call(app(), 'POST', '/api/payments', { user_id: alice.id, amount: 2 });
    await call(app(), 'POST', '/api/payments', { user_id: bob.id, amount: 3 });

    const res = await call(app(), 'GET', `/api/payments?user_id=${alice.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().map((p: { user_id: number; amount: number }) => [p.user_id, p.amount])).toEqual([
      [alice.id, 1],
      [alice.id, 2],
    ]);
    const all = (await call(app(), 'GET', '/api/payments')).json() as { user_id: number }[];
    expect(all.some((p) => p.user_id === bob.id)).toBe(true);
  });

  it('answers a user without payments with an empty list', async () => {
    const user = await createUser(app());
    const res = await call(app(), 'GET', `/api/payments?user_id=${user.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([]);
  });

  it('refuses a payment for a user that does not exist with a 400, not a 500', async () => {
    const res = await call(app(), 'POST', '/api/payments', { user_id: 2147483647, amount: 5 });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'body.user_id: user 2147483647 does not exist' });
  });

  it.each([
    [{ amount: 5 }, /body\.user_id/],
    [{ user_id: 'one', amount: 5 }, /body\.user_id: must be a positive integer/],
    [{ user_id: 1, amount: '9.99' }, /body\.amount: must be a number/],
    [{ user_id: 1, amount: null }, /body\.amount: must be a number/],
    [{ user_id: 1, amount: 1e12 }, /body\.amount: must be from/],
    [{ user_id: 1, amount: -1e12 }, /body\.amount: must be from/],
  ])('refuses the body %j with a 400 naming the field', async (body, message) => {
    const res = await call(app(), 'POST', '/api/payments', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(message);
  });

  it('refuses a non-numeric id or user_id with a 400 and an unknown id with a 404', async () => {
    const badUser = await call(app(), 'GET', '/api/payments?user_id=bob');
    expect(badUser.statusCode).toBe(400);
    expect(badUser.json().error).toMatch(/^query\.user_id: /);
    const badId = await call(app(), 'GET', '/api/payments?id=1;drop');
    expect(badId.statusCode).toBe(400);
    expect(badId.json().error).toMatch(/^query\.id: /);
    const missing = await call(app(), 'GET', '/api/payments?id=2147483647');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'payment 2147483647 not found' });
  });
});
