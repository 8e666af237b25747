#!/usr/bin/env node
// Stores rows the original system accepted but the contract's formats do not promise, through the
// monolith's own API, as legacy clients (or a contract fuzzer) do: emails that are not addresses, unicode,
// refunds, subscriptions that end as they start or in the year 0000. The Newman suite must still pass after
// it (issue 22, item 7). It writes to whatever database that monolith uses: point it at a throw-away one.
//
//   node tests/postman/legacy-data.mjs http://127.0.0.1:18080 [rounds]
import { randomBytes } from 'node:crypto';

const [base, roundsArgument = '3'] = process.argv.slice(2);
if (!base) {
  console.error('usage: node tests/postman/legacy-data.mjs MONOLITH_URL [rounds]');
  process.exit(2);
}

const pick = (values) => values[randomBytes(1)[0] % values.length];
const tag = () => randomBytes(4).toString('hex');

// Each accepted by the original (any text up to 255 characters) and by the monolith today.
const emails = [
  (t) => `not an address ${t}`,
  (t) => `no-at-sign-${t}`,
  (t) => `"quoted ${t}"@example.com`,
  (t) => `${t}@localhost`,
  (t) => `ü${t}@例え.jp`,
  (t) => `${t}@@example.com`,
  (t) => ` ${t}@example.com `,
  (t) => `🎬${t}`,
];

async function post(path, body) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json().catch(() => undefined);
  if (res.status !== 201)
    throw new Error(`POST ${path} ${JSON.stringify(body)}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

let stored = 0;
for (let round = 0; round < Number(roundsArgument); round++) {
  const user = await post('/api/users', { username: `légacy ${tag()} 🎬`, email: pick(emails)(tag()) });
  stored++;
  for (const email of emails) {
    await post('/api/users', { username: `legacy_${tag()}`, email: email(tag()) });
    stored++;
  }
  for (const movie of [
    { title: `Legacy ${tag()}`, description: '', rating: 10.04 },
    {
      title: ` "quoted" \\ ${tag()} `,
      description: 'ünïcödé\n\t"',
      genres: [`Genre ${tag()}`],
      rating: -0.04,
    },
    { title: `Bare ${tag()}` },
  ]) {
    await post('/api/movies', movie);
    stored++;
  }
  for (const amount of [0, -5.5, 0.001, 9999999999.99]) {
    await post('/api/payments', { user_id: user.id, amount });
    stored++;
  }
  for (const [start_date, end_date] of [
    ['2026-12-01T22:10:00.123Z', '2026-12-01T22:10:00.123Z'],
    ['0000-02-29T12:00:00Z', '0000-12-31T23:59:59Z'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.9999994Z'],
    ['2026-01-01T02:00:00+02:00', '2026-01-01T00:00:00Z'],
  ]) {
    await post('/api/subscriptions', {
      user_id: user.id,
      plan_type: pick(['', 'x']) + tag(),
      start_date,
      end_date,
    });
    stored++;
  }
}
console.log(`legacy-data: stored ${stored} rows the original accepted through ${base}`);
