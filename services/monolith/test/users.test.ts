import { describe, expect, it } from 'vitest';
import { call, createUser, unique, useApp } from './helpers.js';

const app = useApp();

describe('/api/users', () => {
  it('creates a user (201) and reads it back by id and in the list', async () => {
    const name = `user_${unique()}`;
    const created = await call(app(), 'POST', '/api/users', { username: name, email: `${name}@example.com` });
    expect(created.statusCode).toBe(201);
    const user = created.json();
    expect(user).toEqual({ id: expect.any(Number), username: name, email: `${name}@example.com` });

    const one = await call(app(), 'GET', `/api/users?id=${user.id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(user);

    const list = await call(app(), 'GET', '/api/users');
    expect(list.statusCode).toBe(200);
    expect(list.json()).toContainEqual(user);
  });

  it('serves the seeded users on a fresh database', async () => {
    const list = (await call(app(), 'GET', '/api/users')).json();
    expect(list).toContainEqual(
      expect.objectContaining({ username: 'john_doe', email: 'john.doe@example.com' }),
    );
  });

  it('answers an unknown id with a JSON 404', async () => {
    const res = await call(app(), 'GET', '/api/users?id=2147483647');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'user 2147483647 not found' });
  });

  it.each(['-1', '0'])('answers id=%s, which no user has, with a JSON 404', async (id) => {
    const res = await call(app(), 'GET', `/api/users?id=${id}`);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: `user ${id} not found` });
  });

  it.each(['abc', '1.5', '1e3', '99999999999'])(
    'refuses id=%j, where the original crashed, with a 400 naming query.id',
    async (id) => {
      const res = await call(app(), 'GET', `/api/users?id=${encodeURIComponent(id)}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatch(/^query\.id: /);
    },
  );

  it.each([
    [{ email: 'a@example.com' }, /body\.username/],
    [{ username: 'someone' }, /body\.email/],
    [{ username: '', email: 'a@example.com' }, /body\.username: must not be empty/],
    [{ username: null, email: 'a@example.com' }, /body\.username: must be a string/],
    [{ username: 42, email: 'a@example.com' }, /body\.username: must be a string/],
    [{ username: 'nul\u0000byte', email: 'a@example.com' }, /body\.username: must not contain NUL/],
    [{ username: 'x'.repeat(101), email: 'a@example.com' }, /body\.username: must be at most 100/],
    [{ username: 'someone', email: `${'x'.repeat(244)}@example.com` }, /body\.email: must be at most 255/],
  ])('refuses the body %j with a 400 naming the field', async (body, message) => {
    const res = await call(app(), 'POST', '/api/users', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(message);
  });

  it('refuses a missing or malformed body with a 400, never a 500', async () => {
    const empty = await call(app(), 'POST', '/api/users');
    expect(empty.statusCode).toBe(400);
    const malformed = await app().inject({
      method: 'POST',
      url: '/api/users',
      headers: { 'content-type': 'application/json' },
      payload: '{"username":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toHaveProperty('error');
  });

  it('answers a duplicate username (exactly as written) with 409', async () => {
    const user = await createUser(app());
    const res = await call(app(), 'POST', '/api/users', {
      username: user.username,
      email: `other_${unique()}@example.com`,
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatch(/^body\.username: .* is already taken$/);
  });

  it('answers a duplicate email (exactly as written) with 409', async () => {
    const user = await createUser(app());
    const res = await call(app(), 'POST', '/api/users', {
      username: `other_${unique()}`,
      email: user.email,
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatch(/^body\.email: .* is already taken$/);
  });

  it('lets exactly one of several concurrent registrations of a name win', async () => {
    const name = `race_${unique()}`;
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        call(app(), 'POST', '/api/users', { username: name, email: `${name}_${i}@example.com` }),
      ),
    );
    const statuses = results.map((res) => res.statusCode).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
  });
});
