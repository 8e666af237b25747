import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { call, unique, useIsolatedApp } from './helpers.js';

// Issue 11, section 1: every request the original Go monolith answered 2xx is accepted, stored and read back
// the same way. A schema of its own, because some of these rows (an IDN email) are ones the shared tables
// must not keep: the contract checks elsewhere read every user.
const app = useIsolatedApp();

/** A raw request as a client sends it: the body as text, headers as given (none means none). */
function send(
  method: 'GET' | 'POST',
  url: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app().inject({ method, url, headers, ...(body === undefined ? {} : { payload: body }) });
}

async function created(res: LightMyRequestResponse) {
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** What GET ?id= answers for a created row: it must be the row exactly as the POST answered. */
async function readBack(path: string, row: { id: number }) {
  const res = await call(app(), 'GET', `${path}?id=${row.id}`);
  expect(res.statusCode).toBe(200);
  expect(res.json()).toEqual(row);
  return res.json();
}

async function newUser(instance: FastifyInstance = app()) {
  const name = `legacy_${unique()}`;
  const res = await call(instance, 'POST', '/api/users', { username: name, email: `${name}@example.com` });
  return created(res) as Promise<{ id: number; username: string; email: string }>;
}

describe('subscriptions: dates as the original took them', () => {
  it.each([
    // What the original's own Postman collection sends: {{$isoTimestamp}} twice, the same instant.
    ['equal', '2026-12-01T22:10:00.123Z', '2026-12-01T22:10:00.123Z'],
    ['less than a millisecond apart', '2026-01-01T00:00:00.0001Z', '2026-01-01T00:00:00.0009Z'],
    ['a nanosecond apart', '2026-01-01T00:00:00.000000001Z', '2026-01-01T00:00:00.000000002Z'],
    ['the same instant in two time zones', '2026-01-01T02:00:00+02:00', '2026-01-01T00:00:00Z'],
    ['before 1970', '1969-07-20T20:17:40Z', '1969-12-31T23:59:59.999Z'],
    ['in the year 1', '0001-01-01T00:00:00Z', '0099-12-31T23:59:59Z'],
    ['in 1 BC (ISO year 0000), leap day included', '0000-02-29T12:00:00Z', '0000-12-31T23:59:59Z'],
    ['at the end of 9999', '9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.9999994Z'],
  ])('accepts start and end %s', async (_case, start_date, end_date) => {
    const user = await newUser();
    const body = { user_id: user.id, plan_type: 'premium', start_date, end_date };
    const subscription = await created(await call(app(), 'POST', '/api/subscriptions', body));
    expect(subscription).toMatchObject({ user_id: user.id, plan_type: 'premium' });
    // Answered in UTC at millisecond precision, the same instant as sent (sub-millisecond digits cut).
    for (const [sent, answered] of [
      [start_date, subscription.start_date],
      [end_date, subscription.end_date],
    ]) {
      expect(answered).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Math.abs(Date.parse(answered) - Date.parse(sent.replace(/(\.\d{3})\d+/, '$1')))).toBe(0);
    }
    await readBack('/api/subscriptions', subscription);
  });

  it.each([
    ['that rounds into the year 10000', '9999-12-31T23:59:59.9999995Z'],
    ['after 9999 in UTC', '9999-12-31T23:00:00-01:00'],
    ['before the year 0000 in UTC', '0000-01-01T00:00:00+00:01'],
  ])('refuses an end %s: the original stored it and then could not list it', async (_case, end_date) => {
    const user = await newUser();
    const body = { user_id: user.id, plan_type: 'basic', start_date: '0000-01-01T00:00:00Z', end_date };
    const res = await call(app(), 'POST', '/api/subscriptions', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/^body\.end_date: must fall in the years 0000 to 9999/);
  });

  it('still refuses an end before the start, even by a nanosecond', async () => {
    const user = await newUser();
    const res = await call(app(), 'POST', '/api/subscriptions', {
      user_id: user.id,
      plan_type: 'basic',
      start_date: '2026-01-01T00:00:00.000000002Z',
      end_date: '2026-01-01T00:00:00.000000001Z',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'body.end_date: must not be before start_date' });
  });
});

describe('bodies: JSON whatever the Content-Type says', () => {
  it.each([
    ['no Content-Type at all', {}],
    ['application/x-www-form-urlencoded (curl -d)', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['text/json', { 'content-type': 'text/json' }],
    ['application/vnd.api+json', { 'content-type': 'application/vnd.api+json' }],
    ['upper case', { 'content-type': 'APPLICATION/JSON; CHARSET=UTF-8' }],
  ])('creates a user from a JSON body sent with %s', async (_case, headers) => {
    const name = `ct_${unique()}`;
    const body = JSON.stringify({ username: name, email: `${name}@example.com` });
    const user = await created(await send('POST', '/api/users', body, headers));
    expect(user).toEqual({ id: expect.any(Number), username: name, email: `${name}@example.com` });
    await readBack('/api/users', user);
  });

  it('creates a movie, a payment and a subscription from bodies without Content-Type', async () => {
    const user = await newUser();
    const title = `No type ${unique()}`;
    const movie = await created(
      await send('POST', '/api/movies', JSON.stringify({ title, description: 'd', rating: 5 })),
    );
    await readBack('/api/movies', movie);
    const payment = await created(
      await send('POST', '/api/payments', JSON.stringify({ user_id: user.id, amount: 3.5 })),
    );
    await readBack('/api/payments', payment);
    const subscription = await created(
      await send(
        'POST',
        '/api/subscriptions',
        JSON.stringify({
          user_id: user.id,
          plan_type: 'basic',
          start_date: '2026-01-01T00:00:00Z',
          end_date: '2026-02-01T00:00:00Z',
        }),
      ),
    );
    await readBack('/api/subscriptions', subscription);
  });

  it('reads the first JSON value and ignores what follows, as Go’s json.Decoder did', async () => {
    const name = `trailing_${unique()}`;
    const body = `  {"username": "${name}", "email": "${name}@example.com"}\n{"not": "read"} junk`;
    const user = await created(await send('POST', '/api/users', body, { 'content-type': 'text/plain' }));
    expect(user.username).toBe(name);
  });

  it.each([
    ['not JSON at all', 'username=bob&email=bob@example.com'],
    ['cut off', '{"username": "bob", "email": '],
    ['empty', ''],
  ])('refuses a body that is %s with a 400 JSON error', async (_case, body) => {
    const res = await send('POST', '/api/users', body, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/^body: not valid JSON/);
  });
});

describe('query parameters as the original read them', () => {
  it('treats empty id and user_id as absent: the full list', async () => {
    for (const path of ['/api/users', '/api/movies', '/api/payments', '/api/subscriptions']) {
      const all = (await call(app(), 'GET', path)).json();
      for (const query of ['?id=', '?user_id=', '?id=&user_id=']) {
        const res = await call(app(), 'GET', `${path}${query}`);
        expect(res.statusCode, `${path}${query}`).toBe(200);
        expect(res.json(), `${path}${query}`).toEqual(all);
      }
    }
  });

  it('reads ?id=%201, ?id=+1 and ?id=%2B1 as id 1, and the first of repeated ids', async () => {
    const first = (await call(app(), 'GET', '/api/users?id=1')).json();
    expect(first.id).toBe(1);
    for (const query of ['id=%201', 'id=+1', 'id=%2B1', 'id=1%20', 'id=1&id=2', 'id=01']) {
      const res = await call(app(), 'GET', `/api/users?${query}`);
      expect(res.statusCode, query).toBe(200);
      expect(res.json(), query).toEqual(first);
    }
  });

  it('answers ?user_id=0 and negative user ids with an empty list', async () => {
    for (const path of ['/api/payments', '/api/subscriptions']) {
      for (const userId of ['0', '-1', '-2147483648']) {
        const res = await call(app(), 'GET', `${path}?user_id=${userId}`);
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual([]);
      }
    }
  });

  it('lets id win over user_id, which is then ignored, not even checked', async () => {
    const owner = await newUser();
    const other = await newUser();
    const payment = await created(
      await call(app(), 'POST', '/api/payments', { user_id: owner.id, amount: 1 }),
    );
    const subscription = await created(
      await call(app(), 'POST', '/api/subscriptions', {
        user_id: owner.id,
        plan_type: 'basic',
        start_date: '2026-01-01T00:00:00Z',
        end_date: '2026-01-01T00:00:00Z',
      }),
    );
    for (const [path, row] of [
      ['/api/payments', payment],
      ['/api/subscriptions', subscription],
    ]) {
      for (const userId of [other.id, 'abc']) {
        const res = await call(app(), 'GET', `${path}?id=${row.id}&user_id=${userId}`);
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual(row);
      }
    }
  });
});

describe('users: unique exactly as written, stored as sent', () => {
  it('keeps Alice and alice (and their emails in two cases) as two users', async () => {
    const name = `Alice_${unique()}`;
    const upper = await created(
      await call(app(), 'POST', '/api/users', { username: name, email: `${name}@Example.com` }),
    );
    const lower = await created(
      await call(app(), 'POST', '/api/users', {
        username: name.toLowerCase(),
        email: `${name}@Example.com`.toLowerCase(),
      }),
    );
    expect(lower.id).not.toBe(upper.id);
    await readBack('/api/users', upper);
    await readBack('/api/users', lower);
    const again = await call(app(), 'POST', '/api/users', { username: name, email: `x${name}@example.com` });
    expect(again.statusCode).toBe(409);
  });

  it.each([
    [
      'a 100-character username',
      (s: string) => ({ username: s.padEnd(100, 'u'), email: `${s}@example.com` }),
    ],
    [
      '100 emoji as username (characters, not UTF-16 units)',
      (s: string) => ({ username: `${s}${'🎬'.repeat(88)}`, email: `${s}@example.com` }),
    ],
    ['a 255-character email', (s: string) => ({ username: s, email: `${s}${'e'.repeat(231)}@example.com` })],
    ['an internationalized email', (s: string) => ({ username: s, email: `пользователь.${s}@пример.рф` })],
    ['a quoted local part', (s: string) => ({ username: s, email: `"john ${s}"@example.com` })],
    ['an address @localhost', (s: string) => ({ username: s, email: `${s}@localhost` })],
    [
      'spaces around the values, kept',
      (s: string) => ({ username: `  ${s}  `, email: ` ${s}@example.com ` }),
    ],
  ])('accepts %s', async (_case, make) => {
    const body = make(unique());
    const user = await created(await call(app(), 'POST', '/api/users', body));
    expect(user).toEqual({ id: expect.any(Number), ...body });
    await readBack('/api/users', user);
  });
});

describe('keys in any letter case, the last duplicate winning, as Go’s encoding/json matched them', () => {
  it('matches Title, USER_ID and friends to their fields', async () => {
    const user = await newUser();
    const title = `Cased ${unique()}`;
    const movie = await created(
      await send(
        'POST',
        '/api/movies',
        JSON.stringify({ Title: title, DESCRIPTION: 'd', Genres: ['A'], RaTiNg: 6 }),
      ),
    );
    expect(movie).toEqual({ id: expect.any(Number), title, description: 'd', genres: ['A'], rating: 6 });
    const payment = await created(
      await send('POST', '/api/payments', JSON.stringify({ User_ID: user.id, Amount: 2 })),
    );
    expect(payment).toMatchObject({ user_id: user.id, amount: 2 });
    const subscription = await created(
      await send(
        'POST',
        '/api/subscriptions',
        JSON.stringify({
          USER_ID: user.id,
          Plan_Type: 'family',
          Start_Date: '2026-01-01T00:00:00Z',
          END_DATE: '2026-01-01T00:00:00Z',
        }),
      ),
    );
    expect(subscription).toMatchObject({ user_id: user.id, plan_type: 'family' });
  });

  it('lets the last of keys that differ only in case win, in the order they were sent', async () => {
    const name = `dup_${unique()}`;
    const body = `{"username": "first", "USERNAME": "second", "username": "${name}", "Email": "a@x", "eMail": "${name}@example.com"}`;
    const user = await created(await send('POST', '/api/users', body));
    expect(user).toEqual({ id: user.id, username: name, email: `${name}@example.com` });
    const mixed = `{"username": "${name}_2", "email": "first@x", "EMAIL": "second@x", "email": "last_${name}@x"}`;
    expect((await created(await send('POST', '/api/users', mixed))).email).toBe(`last_${name}@x`);
  });
});

describe('movies: the original schema’s sizes, optional fields, values as sent', () => {
  it.each([
    ['"genres": null', { genres: null }, { genres: [] }],
    [
      'no description and no rating',
      { description: undefined, rating: undefined },
      { description: '', rating: 0 },
    ],
    ['null description and rating', { description: null, rating: null }, { description: '', rating: 0 }],
    ['a 255-character title', { title: 'T'.repeat(255) }, { title: 'T'.repeat(255) }],
    [
      'a 100 000-character description',
      { description: 'd'.repeat(100_000) },
      { description: 'd'.repeat(100_000) },
    ],
    [
      'more than 20 genres, 50 characters each',
      { genres: Array.from({ length: 30 }, (_, i) => `${String(i).padStart(2, '0')}${'g'.repeat(48)}`) },
      { genres: Array.from({ length: 30 }, (_, i) => `${String(i).padStart(2, '0')}${'g'.repeat(48)}`) },
    ],
    [
      'spaces kept in title and genres',
      { title: '  Padded  ', genres: [' Drama '] },
      { title: '  Padded  ', genres: [' Drama '] },
    ],
    ['a rating of 10.04 (the original stored 10.0)', { rating: 10.04 }, { rating: 10 }],
    ['a rating of -0.04 (the original stored 0.0)', { rating: -0.04 }, { rating: 0 }],
  ])('accepts %s', async (_case, change, expected) => {
    const input = { title: `Movie ${unique()}`, description: 'd', genres: ['Drama'], rating: 5, ...change };
    const movie = await created(await call(app(), 'POST', '/api/movies', input));
    const { title, description, genres, rating } = { ...input, ...expected };
    expect(movie).toEqual({ id: expect.any(Number), title, description, genres, rating });
    await readBack('/api/movies', movie);
  });
});

describe('payments: any amount the column holds', () => {
  it.each([
    [0, 0],
    [-25.5, -25.5],
    [9.999, 10],
    [1.234, 1.23],
    [0.005, 0.01],
    [-0.005, -0.01],
  ])('accepts %d, stored (as the column rounds it) as %d', async (amount, stored) => {
    const user = await newUser();
    const payment = await created(await call(app(), 'POST', '/api/payments', { user_id: user.id, amount }));
    expect(payment).toMatchObject({ user_id: user.id, amount: stored });
    await readBack('/api/payments', payment);
  });
});

describe('a run of the original’s clients', () => {
  it('answers 100 mixed requests in their style without a single 4xx', async () => {
    const owner = await newUser();
    const form = { 'content-type': 'application/x-www-form-urlencoded' }; // what `curl -d` sends
    const now = new Date().toISOString(); // Postman's {{$isoTimestamp}}, sent as start and end alike
    const styles: ((i: number) => Promise<LightMyRequestResponse>)[] = [
      (i) =>
        send(
          'POST',
          '/api/users',
          `{"username":"curl_${i}_${unique()}","email":"c${i}_${unique()}@localhost"}`,
          form,
        ),
      (i) =>
        send(
          'POST',
          '/api/subscriptions',
          JSON.stringify({ user_id: owner.id, plan_type: `plan ${i}`, start_date: now, end_date: now }),
        ),
      () => send('GET', '/api/users?id='),
      () => send('GET', '/api/subscriptions?user_id='),
      () => send('GET', `/api/payments?id=&user_id=+${owner.id}`),
      (i) =>
        send('POST', '/api/movies', JSON.stringify({ Title: `Legacy ${i}`, genres: null }), {
          'content-type': 'text/plain',
        }),
      (i) => send('POST', '/api/payments', `{"User_Id": ${owner.id}, "amount": ${i % 2 ? -i : 0}}`, form),
      () => send('GET', '/api/movies?id=+1'),
      () => send('GET', `/api/users?id=%20${owner.id}&id=2`),
      () => send('GET', '/api/subscriptions?user_id=0'),
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await (styles[i % styles.length] as (i: number) => Promise<LightMyRequestResponse>)(i);
      statuses.push(res.statusCode);
    }
    expect(statuses).toHaveLength(100);
    expect(statuses.filter((status) => status >= 400)).toEqual([]);
    expect(new Set(statuses)).toEqual(new Set([200, 201]));
  });
});
