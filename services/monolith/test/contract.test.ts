import { contractErrors, responseErrors } from '@cinemaabyss/contract';
import { describe, expect, it } from 'vitest';
import { call, createUser, unique, useApp } from './helpers.js';

const app = useApp();

// Every endpoint, every status it answers with, checked against the vendored OpenAPI contract. The checks
// refuse properties the contract does not declare, so a stray column would fail here too.
describe('monolith responses match the contract', () => {
  it('users: list, one, created, 400, 404, 409', async () => {
    const name = `contract_${unique()}`;
    const created = await call(app(), 'POST', '/api/users', { username: name, email: `${name}@example.com` });
    expect(created.statusCode).toBe(201);
    expect(responseErrors('post', '/api/users', 201, created.json())).toEqual([]);
    expect(responseErrors('get', '/api/users', 200, (await call(app(), 'GET', '/api/users')).json())).toEqual(
      [],
    );
    const one = await call(app(), 'GET', `/api/users?id=${created.json().id}`);
    expect(contractErrors('User', one.json())).toEqual([]);

    const bad = await call(app(), 'POST', '/api/users', { username: name });
    expect(bad.statusCode).toBe(400);
    expect(responseErrors('post', '/api/users', 400, bad.json())).toEqual([]);
    const duplicate = await call(app(), 'POST', '/api/users', {
      username: name,
      email: `x${name}@example.com`,
    });
    expect(duplicate.statusCode).toBe(409);
    expect(contractErrors('Error', duplicate.json())).toEqual([]);
    const missing = await call(app(), 'GET', '/api/users?id=2147483647');
    expect(missing.statusCode).toBe(404);
    expect(contractErrors('Error', missing.json())).toEqual([]);
  });

  it('movies: list, one, created, 400, 404', async () => {
    const input = { title: `Contract ${unique()}`, description: 'd', genres: ['Drama'], rating: 6.4 };
    const created = await call(app(), 'POST', '/api/movies', input);
    expect(created.statusCode).toBe(201);
    expect(responseErrors('post', '/api/movies', 201, created.json())).toEqual([]);
    expect(
      responseErrors('get', '/api/movies', 200, (await call(app(), 'GET', '/api/movies')).json()),
    ).toEqual([]);
    const one = await call(app(), 'GET', `/api/movies?id=${created.json().id}`);
    expect(contractErrors('Movie', one.json())).toEqual([]);

    const bad = await call(app(), 'POST', '/api/movies', { ...input, rating: 'high' });
    expect(responseErrors('post', '/api/movies', 400, bad.json())).toEqual([]);
    const missing = await call(app(), 'GET', '/api/movies?id=2147483647');
    expect(contractErrors('Error', missing.json())).toEqual([]);
  });

  it('payments: list, filtered list, one, created, 400, 404', async () => {
    const user = await createUser(app());
    const created = await call(app(), 'POST', '/api/payments', { user_id: user.id, amount: 14.99 });
    expect(created.statusCode).toBe(201);
    expect(responseErrors('post', '/api/payments', 201, created.json())).toEqual([]);
    for (const url of ['/api/payments', `/api/payments?user_id=${user.id}`]) {
      const list = await call(app(), 'GET', url);
      expect(list.json()).not.toEqual([]);
      expect(responseErrors('get', '/api/payments', 200, list.json())).toEqual([]);
    }
    const one = await call(app(), 'GET', `/api/payments?id=${created.json().id}`);
    expect(contractErrors('Payment', one.json())).toEqual([]);

    const bad = await call(app(), 'POST', '/api/payments', { user_id: user.id });
    expect(responseErrors('post', '/api/payments', 400, bad.json())).toEqual([]);
    const unknownUser = await call(app(), 'POST', '/api/payments', { user_id: 2147483647, amount: 1 });
    expect(responseErrors('post', '/api/payments', 400, unknownUser.json())).toEqual([]);
    const missing = await call(app(), 'GET', '/api/payments?id=2147483647');
    expect(contractErrors('Error', missing.json())).toEqual([]);
  });

  it('subscriptions: list, filtered list, one, created, 400, 404', async () => {
    const user = await createUser(app());
    const created = await call(app(), 'POST', '/api/subscriptions', {
      user_id: user.id,
      plan_type: 'premium',
      start_date: '2023-01-01T00:00:00Z',
      end_date: '2023-12-31T23:59:59Z',
    });
    expect(created.statusCode).toBe(201);
    expect(responseErrors('post', '/api/subscriptions', 201, created.json())).toEqual([]);
    for (const url of ['/api/subscriptions', `/api/subscriptions?user_id=${user.id}`]) {
      const list = await call(app(), 'GET', url);
      expect(list.json()).not.toEqual([]);
      expect(responseErrors('get', '/api/subscriptions', 200, list.json())).toEqual([]);
    }
    const one = await call(app(), 'GET', `/api/subscriptions?id=${created.json().id}`);
    expect(contractErrors('Subscription', one.json())).toEqual([]);

    const bad = await call(app(), 'POST', '/api/subscriptions', { user_id: user.id, plan_type: 'basic' });
    expect(responseErrors('post', '/api/subscriptions', 400, bad.json())).toEqual([]);
    const missing = await call(app(), 'GET', '/api/subscriptions?id=2147483647');
    expect(contractErrors('Error', missing.json())).toEqual([]);
  });

  it('the seeded data matches the contract too', async () => {
    for (const path of ['/api/users', '/api/movies', '/api/payments', '/api/subscriptions']) {
      const list = await call(app(), 'GET', path);
      expect(responseErrors('get', path, 200, list.json()), path).toEqual([]);
    }
  });
});
