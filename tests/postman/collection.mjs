// Source of the Postman collection (cinemaabyss.postman_collection.json is generated from this file).
//
// Why a generator: the checks are JavaScript that Postman stores as JSON string arrays, and the response
// schemas come straight from the contract (contracts/api-specification.yaml), so a change to the contract
// changes the tests. `node tests/postman/collection.mjs` rewrites the JSON; run.mjs refuses a stale one.
//
// Variables the environments provide: gateway_url, monolith_url, movies_url, events_url,
// gateway_internal_url (/ready and /admin, which the ingress does not expose), direct_access ("false" skips
// the service-direct folders), admin_token (injected by run.mjs).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
export const collectionPath = join(here, 'cinemaabyss.postman_collection.json');
const contractPath = join(here, '../../contracts/api-specification.yaml');

// ---------------------------------------------------------------------------------------------------------
// Schemas: the contract's components as plain JSON Schema (draft-04, what Postman's bundled Ajv 6 speaks).

/** Resolves $ref, drops documentation keys and formats Ajv does not know (`float`). */
function toJsonSchema(node, components) {
  if (Array.isArray(node)) return node.map((value) => toJsonSchema(value, components));
  if (node === null || typeof node !== 'object') return node;
  if (node.$ref) return toJsonSchema(components[node.$ref.split('/').pop()], components);
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'example' || key === 'description') continue;
    if (key === 'format' && value === 'float') continue;
    out[key] = toJsonSchema(value, components);
  }
  return out;
}

/**
 * Formats the contract declares that the original system never checked on input, so rows that clients
 * stored legally may lack them: an email is any text up to 255 characters (docs/architecture/README.md,
 * "Email is not checked beyond its size"). The only other format of a listed row, date-time, is written
 * by the services themselves.
 */
export const UNCHECKED_ON_INPUT = { User: ['email'] };

/**
 * A component as stored rows can legally be: without the formats of UNCHECKED_ON_INPUT. A list shows
 * every stored row, whoever stored it, so lists are checked against this; a row this run created (read
 * back by id) still meets the whole contract.
 */
function asStored(name, schema) {
  const properties = { ...schema.properties };
  for (const field of UNCHECKED_ON_INPUT[name] ?? []) {
    const { format: _unchecked, ...rest } = properties[field];
    properties[field] = rest;
  }
  return { ...schema, properties };
}

export function contractSchemas() {
  const components = parse(readFileSync(contractPath, 'utf8')).components.schemas;
  const schemas = {};
  for (const name of Object.keys(components)) schemas[name] = toJsonSchema(components[name], components);
  const health = { type: 'object', properties: { status: { type: 'boolean' } }, required: ['status'] };
  const arrayOf = (name) => ({ type: 'array', items: asStored(name, schemas[name]) });
  return {
    ...schemas,
    Health: health,
    Users: arrayOf('User'),
    Movies: arrayOf('Movie'),
    Payments: arrayOf('Payment'),
    Subscriptions: arrayOf('Subscription'),
  };
}

// Not in the contract (issues 3 and 4 define them): the flag as the admin API returns it, and what the
// events consumer reports as processed.
const extraSchemas = {
  Flag: {
    type: 'object',
    properties: { enabled: { type: 'boolean' }, percent: { type: 'integer', minimum: 0, maximum: 100 } },
    required: ['enabled', 'percent'],
  },
  // GET /api/events/recent: {"events": [...]}, each the event as processed plus where it was read from.
  Recent: {
    type: 'object',
    properties: {
      events: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            type: { type: 'string', enum: ['movie', 'user', 'payment'] },
            timestamp: { type: 'string', format: 'date-time' },
            payload: { type: 'object' },
            topic: { type: 'string' },
            partition: { type: 'integer', minimum: 0 },
            // kafkajs reports offsets as decimal strings (they are 64-bit).
            offset: { type: ['string', 'integer'], pattern: '^\\d+$' },
            processed_at: { type: 'string', format: 'date-time' },
          },
          required: ['id', 'type', 'timestamp', 'payload', 'topic', 'partition', 'offset', 'processed_at'],
        },
      },
    },
    required: ['events'],
  },
};

// ---------------------------------------------------------------------------------------------------------
// Script snippets. Every assertion name starts with `where` ("<service>: <METHOD> <path>") so a failure
// names the service and the call.

const lines = (code) => code.trim().split('\n');

/** JSON body or undefined, without throwing outside a pm.test. */
const bodyLine =
  'const body = (() => { try { return pm.response.json(); } catch (_) { return undefined; } })();';

function statusIs(code) {
  return `pm.test(\`\${where} answers ${code}\`, () => pm.response.to.have.status(${code}));`;
}

function isJson() {
  return `pm.test(\`\${where} answers application/json\`, () =>
  pm.expect(pm.response.headers.get('Content-Type') || '', 'Content-Type').to.match(/^application\\/json/));`;
}

function matchesSchema(schemas, name) {
  return `pm.test(\`\${where} body matches the contract's ${name}\`, () =>
  pm.response.to.have.jsonSchema(${JSON.stringify(schemas[name])}));`;
}

function upstreamIs(...names) {
  return `pm.test(\`\${where} is answered by ${names.join(' or ')} (X-Upstream)\`, () =>
  pm.expect(pm.response.headers.get('X-Upstream'), 'X-Upstream').to.be.oneOf(${JSON.stringify(names)}));`;
}

/** 4xx cases: status, JSON {"error": "..."} naming the problem. */
function errorCase(schemas, code, mentions) {
  const mention = mentions
    ? `\npm.test(\`\${where} error names ${mentions}\`, () =>
  pm.expect(String(body && body.error), 'error message').to.match(/\\b${mentions}\\b/i));`
    : '';
  return `${bodyLine}
${statusIs(code)}
${isJson()}
${matchesSchema(schemas, 'Error')}${mention}`;
}

/** Successful JSON answer of the contract's shape. */
function jsonOk(schemas, code, schema) {
  return `${bodyLine}
${statusIs(code)}
${isJson()}
${matchesSchema(schemas, schema)}`;
}

function healthOk(schemas) {
  return `${jsonOk(schemas, 200, 'Health')}
pm.test(\`\${where} answers {status:true}\`, () => pm.expect(body && body.status).to.equal(true));`;
}

// The request loops that call the same request several times (pm.execution.setNextRequest to itself),
// bounded by `times` calls; the counter lives in a collection variable.
function repeatLoop(counter, times) {
  return `const round = Number(pm.collectionVariables.get('${counter}') || 0) + 1;
if (round < ${times}) {
  pm.collectionVariables.set('${counter}', String(round));
  pm.execution.setNextRequest(pm.info.requestId);
} else {
  pm.collectionVariables.unset('${counter}');
}`;
}

// MurmurHash3 x86 32-bit as Unleash computes it (bytes are char codes & 0xff); bucket = hash % 100 + 1.
export const unleashBucket = `function murmur3(key, seed) {
  const c1 = 0xcc9e2d51, c2 = 0x1b873593;
  const tail = key.length % 4, blocks = key.length - tail;
  let h = seed >>> 0, k, i = 0;
  for (; i < blocks; i += 4) {
    k = (key.charCodeAt(i) & 0xff) | ((key.charCodeAt(i + 1) & 0xff) << 8) |
      ((key.charCodeAt(i + 2) & 0xff) << 16) | ((key.charCodeAt(i + 3) & 0xff) << 24);
    k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2);
    h ^= k; h = (h << 13) | (h >>> 19); h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  k = 0;
  if (tail === 3) k ^= (key.charCodeAt(i + 2) & 0xff) << 16;
  if (tail >= 2) k ^= (key.charCodeAt(i + 1) & 0xff) << 8;
  if (tail >= 1) {
    k ^= key.charCodeAt(i) & 0xff;
    k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2); h ^= k;
  }
  h ^= key.length;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h >>> 0;
}
const bucketOf = (userId) => (murmur3('movies:' + userId, 0) % 100) + 1;`;

/**
 * Pre-request: call the gateway until `wanted` consecutive answers of GET /api/movies (with the given
 * X-User-Id, or none) come from `upstream`, or the deadline passes. The flag is read through a client-side
 * cache that Redis invalidates, so a change is allowed a moment (issue 3: 100 ms) to reach the gateway.
 */
function awaitUpstream(upstream, userIdExpr) {
  return `const upstream = '${upstream}';
const userId = ${userIdExpr};
const deadline = Date.now() + 3000;
const started = Date.now();
let streak = 0;
function probe() {
  pm.sendRequest({
    url: pm.variables.replaceIn('{{gateway_url}}/api/movies'),
    header: userId ? { 'X-User-Id': userId } : {},
  }, (err, res) => {
    streak = !err && res.headers.get('X-Upstream') === upstream ? streak + 1 : 0;
    if (streak >= 5) {
      pm.variables.set('converged_ms', String(Date.now() - started));
    } else if (!err && Date.now() < deadline) {
      setTimeout(probe, 20);
    }
  });
}
probe();`;
}

// ---------------------------------------------------------------------------------------------------------
// Requests.

const JSON_HEADER = { key: 'Content-Type', value: 'application/json' };

/** A numeric variable inside a JSON body: `"user_id": {{user_id}}`. */
const num = (variable) => `@@num:${variable}@@`;

function rawJson(body) {
  return JSON.stringify(body, null, 2).replace(/"@@num:([a-z_]+)@@"/g, '{{$1}}');
}

/**
 * One request. `who` names the service under test in every assertion; `title` is the call as a person
 * reads it ("GET /api/users?id=<new user>").
 */
function request(
  who,
  title,
  { method = 'GET', url, headers = [], body, raw, pre, test, description, contentType = JSON_HEADER },
) {
  const item = {
    name: title,
    event: [],
    request: { method, header: [...headers], url },
  };
  if (description) item.request.description = description;
  if (body !== undefined || raw !== undefined) {
    item.request.header.push(contentType);
    item.request.body = {
      mode: 'raw',
      raw: raw ?? rawJson(body),
      options: { raw: { language: 'json' } },
    };
  }
  if (pre) item.event.push({ listen: 'prerequest', script: { type: 'text/javascript', exec: lines(pre) } });
  // A request that got no answer (refused, timed out) fails once, by name, instead of once per assertion.
  const script = `const where = ${JSON.stringify(`${who}: ${title}`)};
if (!pm.response.code) {
  pm.test(\`\${where} gets an answer\`, () => pm.expect.fail('no response: the service is not reachable (see the request error)'));
} else {
${test.replace(/^/gm, '  ')}
}`;
  item.event.push({ listen: 'test', script: { type: 'text/javascript', exec: lines(script) } });
  return item;
}

function folder(name, description, items, { direct = false } = {}) {
  const out = { name, description, item: items };
  if (direct) {
    // Service-direct calls: skipped where only the ingress is reachable (kubernetes environment).
    out.event = [
      {
        listen: 'prerequest',
        script: {
          type: 'text/javascript',
          exec: [
            "if (pm.environment.get('direct_access') === 'false') {",
            "  console.log('skipped (direct_access=false): ' + pm.info.requestName);",
            '  pm.execution.skipRequest();',
            '}',
          ],
        },
      },
    ];
  }
  return out;
}

const bearer = { key: 'Authorization', value: 'Bearer {{admin_token}}' };

// Unique data per run, so a second run never collides with the first one's rows (409 on username/email).
const uniqueSuffix = 'Date.now().toString(36) + Math.random().toString(36).slice(2, 8)';

/** The user the Monolith folder created, or a new one when the Bad input folder runs on its own. */
const existingUserPre = `if (!pm.collectionVariables.get('username')) {
  const suffix = ${uniqueSuffix};
  const user = { username: 'e2e_' + suffix, email: 'e2e_' + suffix + '@example.com' };
  pm.collectionVariables.set('username', user.username);
  pm.collectionVariables.set('email', user.email);
  pm.sendRequest({
    url: pm.variables.replaceIn('{{monolith_url}}/api/users'),
    method: 'POST',
    header: { 'Content-Type': 'application/json' },
    body: { mode: 'raw', raw: JSON.stringify(user) },
  }, (err, res) => console.log('created ' + user.username + ': ' + (err ? err.message : res.code)));
}`;

/**
 * The GETs that find what the POST before them created (its id in `<noun>_id`): in the list, by id with
 * `check` on the body, and as the new user's only one. `item` names the list element in the test code.
 */
function findCreated(s, who, base, { path, noun, schema, item, check }) {
  const createdId = `Number(pm.collectionVariables.get('${noun}_id'))`;
  return [
    request(who, `GET ${path}`, {
      url: `${base}${path}`,
      test: `${jsonOk(s, 200, `${schema}s`)}
pm.test(\`\${where} includes the created ${noun}\`, () =>
  pm.expect(body.map((${item}) => ${item}.id)).to.include(${createdId}));`,
    }),
    request(who, `GET ${path}?id=<new ${noun}>`, {
      url: `${base}${path}?id={{${noun}_id}}`,
      test: `${jsonOk(s, 200, schema)}
pm.test(\`\${where} returns the created ${noun}\`, () => {
  pm.expect(body.id).to.equal(${createdId});
  ${check}
});`,
    }),
    request(who, `GET ${path}?user_id=<new user>`, {
      url: `${base}${path}?user_id={{user_id}}`,
      test: `${jsonOk(s, 200, `${schema}s`)}
pm.test(\`\${where} returns exactly the new user's one ${noun}\`, () => {
  pm.expect(body.map((${item}) => ${item}.id)).to.eql([${createdId}]);
  pm.expect(body[0].user_id).to.equal(Number(pm.collectionVariables.get('user_id')));
});`,
    }),
  ];
}

function monolithFolder(s) {
  const who = 'monolith';
  const base = '{{monolith_url}}';
  return folder(
    'Monolith',
    'The legacy monolith on its own port: health, users, movies, payments, subscriptions.',
    [
      request(who, 'GET /health', { url: `${base}/health`, test: healthOk(s) }),
      request(who, 'GET /api/users', {
        url: `${base}/api/users`,
        test: `${jsonOk(s, 200, 'Users')}
pm.test(\`\${where} lists the seeded users\`, () => pm.expect(body).to.be.an('array').that.is.not.empty);`,
      }),
      request(who, 'POST /api/users', {
        method: 'POST',
        url: `${base}/api/users`,
        pre: `const suffix = ${uniqueSuffix};
pm.collectionVariables.set('username', 'e2e_' + suffix);
pm.collectionVariables.set('email', 'e2e_' + suffix + '@example.com');`,
        body: { username: '{{username}}', email: '{{email}}' },
        test: `${jsonOk(s, 201, 'User')}
pm.test(\`\${where} echoes username and email\`, () => {
  pm.expect(body.username).to.equal(pm.collectionVariables.get('username'));
  pm.expect(body.email).to.equal(pm.collectionVariables.get('email'));
});
if (body && Number.isInteger(body.id)) pm.collectionVariables.set('user_id', String(body.id));`,
      }),
      request(who, 'GET /api/users?id=<new user>', {
        url: `${base}/api/users?id={{user_id}}`,
        test: `${jsonOk(s, 200, 'User')}
pm.test(\`\${where} returns the created user\`, () => {
  pm.expect(body.id).to.equal(Number(pm.collectionVariables.get('user_id')));
  pm.expect(body.username).to.equal(pm.collectionVariables.get('username'));
  pm.expect(body.email).to.equal(pm.collectionVariables.get('email'));
});`,
      }),
      request(who, 'GET /api/movies', {
        url: `${base}/api/movies`,
        test: `${jsonOk(s, 200, 'Movies')}
pm.test(\`\${where} lists the seeded movies\`, () => pm.expect(body).to.be.an('array').that.is.not.empty);`,
      }),
      request(who, 'POST /api/movies', {
        method: 'POST',
        url: `${base}/api/movies`,
        pre: `pm.collectionVariables.set('movie_title', 'E2E monolith movie ' + ${uniqueSuffix});`,
        body: {
          title: '{{movie_title}}',
          description: 'Created by the Newman end-to-end run through the monolith',
          genres: ['Drama', 'Documentary'],
          rating: 7.5,
        },
        test: `${jsonOk(s, 201, 'Movie')}
pm.test(\`\${where} echoes title, description, genres and rating\`, () => {
  pm.expect(body.title).to.equal(pm.collectionVariables.get('movie_title'));
  pm.expect(body.description).to.equal('Created by the Newman end-to-end run through the monolith');
  pm.expect(body.genres).to.have.members(['Drama', 'Documentary']);
  pm.expect(body.rating).to.equal(7.5);
});
if (body && Number.isInteger(body.id)) pm.collectionVariables.set('movie_id', String(body.id));`,
      }),
      request(who, 'GET /api/movies?id=<new movie>', {
        url: `${base}/api/movies?id={{movie_id}}`,
        test: `${jsonOk(s, 200, 'Movie')}
pm.test(\`\${where} returns the created movie with its genres\`, () => {
  pm.expect(body.id).to.equal(Number(pm.collectionVariables.get('movie_id')));
  pm.expect(body.title).to.equal(pm.collectionVariables.get('movie_title'));
  pm.expect(body.genres).to.have.members(['Drama', 'Documentary']);
});`,
      }),
      request(who, 'POST /api/payments', {
        method: 'POST',
        url: `${base}/api/payments`,
        body: { user_id: num('user_id'), amount: 12.34 },
        test: `${jsonOk(s, 201, 'Payment')}
pm.test(\`\${where} echoes user_id and amount, timestamp is ISO 8601\`, () => {
  pm.expect(body.user_id).to.equal(Number(pm.collectionVariables.get('user_id')));
  pm.expect(body.amount).to.equal(12.34);
  pm.expect(Date.parse(body.timestamp), 'timestamp ' + body.timestamp).to.be.a('number').and.not.NaN;
});
if (body && Number.isInteger(body.id)) pm.collectionVariables.set('payment_id', String(body.id));`,
      }),
      ...findCreated(s, who, base, {
        path: '/api/payments',
        noun: 'payment',
        schema: 'Payment',
        item: 'p',
        check: 'pm.expect(body.amount).to.equal(12.34);',
      }),
      request(who, 'POST /api/subscriptions', {
        method: 'POST',
        url: `${base}/api/subscriptions`,
        body: {
          user_id: num('user_id'),
          plan_type: 'premium',
          start_date: '2026-01-01T00:00:00Z',
          end_date: '2026-12-31T23:59:59Z',
        },
        test: `${jsonOk(s, 201, 'Subscription')}
pm.test(\`\${where} echoes user_id, plan_type and the dates (same instants)\`, () => {
  pm.expect(body.user_id).to.equal(Number(pm.collectionVariables.get('user_id')));
  pm.expect(body.plan_type).to.equal('premium');
  pm.expect(Date.parse(body.start_date), 'start_date ' + body.start_date).to.equal(Date.parse('2026-01-01T00:00:00Z'));
  pm.expect(Date.parse(body.end_date), 'end_date ' + body.end_date).to.equal(Date.parse('2026-12-31T23:59:59Z'));
});
if (body && Number.isInteger(body.id)) pm.collectionVariables.set('subscription_id', String(body.id));`,
      }),
      ...findCreated(s, who, base, {
        path: '/api/subscriptions',
        noun: 'subscription',
        schema: 'Subscription',
        item: 'x',
        check: "pm.expect(body.plan_type).to.equal('premium');",
      }),
      request(
        who,
        'POST /api/subscriptions as the original system’s clients send it (curl -d, start = end)',
        {
          method: 'POST',
          url: `${base}/api/subscriptions`,
          // curl -d labels JSON as a form; the original's own collection sent one {{$isoTimestamp}} twice.
          contentType: { key: 'Content-Type', value: 'application/x-www-form-urlencoded' },
          pre: "pm.collectionVariables.set('legacy_instant', new Date().toISOString());",
          body: {
            user_id: num('user_id'),
            plan_type: 'legacy',
            start_date: '{{legacy_instant}}',
            end_date: '{{legacy_instant}}',
          },
          test: `${jsonOk(s, 201, 'Subscription')}
pm.test(\`\${where} stores a subscription that ends as it starts\`, () => {
  const sent = Date.parse(pm.collectionVariables.get('legacy_instant'));
  pm.expect(Date.parse(body.start_date), 'start_date ' + body.start_date).to.equal(sent);
  pm.expect(Date.parse(body.end_date), 'end_date ' + body.end_date).to.equal(sent);
});`,
        },
      ),
    ],
    { direct: true },
  );
}

function moviesFolder(s) {
  const who = 'movies service';
  const base = '{{movies_url}}';
  return folder(
    'Movies service',
    'The extracted movies service on its own port, sharing the movie tables with the monolith.',
    [
      request(who, 'GET /api/movies/health', { url: `${base}/api/movies/health`, test: healthOk(s) }),
      request(who, 'GET /api/movies', {
        url: `${base}/api/movies`,
        test: `${jsonOk(s, 200, 'Movies')}
pm.test(\`\${where} lists the seeded movies\`, () => pm.expect(body).to.be.an('array').that.is.not.empty);`,
      }),
      request(who, 'POST /api/movies', {
        method: 'POST',
        url: `${base}/api/movies`,
        pre: `pm.collectionVariables.set('service_movie_title', 'E2E movies-service movie ' + ${uniqueSuffix});`,
        body: {
          title: '{{service_movie_title}}',
          description: 'Created by the Newman end-to-end run through the movies service',
          genres: ['Sci-Fi'],
          rating: 8.25,
        },
        test: `${jsonOk(s, 201, 'Movie')}
pm.test(\`\${where} echoes title, description, genres and rating\`, () => {
  pm.expect(body.title).to.equal(pm.collectionVariables.get('service_movie_title'));
  pm.expect(body.description).to.equal('Created by the Newman end-to-end run through the movies service');
  pm.expect(body.genres).to.eql(['Sci-Fi']);
  pm.expect(body.rating).to.equal(8.25);
});
if (body && Number.isInteger(body.id)) pm.collectionVariables.set('service_movie_id', String(body.id));`,
      }),
      request(who, 'GET /api/movies?id=<new movie>', {
        url: `${base}/api/movies?id={{service_movie_id}}`,
        test: `${jsonOk(s, 200, 'Movie')}
pm.test(\`\${where} returns the created movie\`, () => {
  pm.expect(body.id).to.equal(Number(pm.collectionVariables.get('service_movie_id')));
  pm.expect(body.title).to.equal(pm.collectionVariables.get('service_movie_title'));
  pm.expect(body.genres).to.eql(['Sci-Fi']);
});`,
      }),
      request(who, "GET /api/movies?id=<the monolith's new movie>", {
        url: `${base}/api/movies?id={{movie_id}}`,
        pre: `if (!pm.collectionVariables.get('movie_id')) {
  console.log('skipped: the Monolith folder did not run, so there is no movie of its to look up');
  pm.execution.skipRequest();
}`,
        description: 'Both services read the same movie tables while the migration is half way.',
        test: `${jsonOk(s, 200, 'Movie')}
pm.test(\`\${where} sees the movie the monolith created (shared database)\`, () => {
  pm.expect(body.id).to.equal(Number(pm.collectionVariables.get('movie_id')));
  pm.expect(body.title).to.equal(pm.collectionVariables.get('movie_title'));
});`,
      }),
    ],
    { direct: true },
  );
}

const eventBodies = {
  movie: {
    movie_id: num('event_movie_id'),
    title: 'E2E event movie',
    action: 'viewed',
    user_id: num('event_user_id'),
    rating: 8.5,
    genres: ['Sci-Fi', 'Action'],
  },
  user: {
    user_id: num('event_user_id'),
    username: 'e2e_event_user',
    email: 'e2e_event_user@example.com',
    action: 'registered',
    timestamp: '{{event_timestamp}}',
  },
  payment: {
    payment_id: num('event_payment_id'),
    user_id: num('event_user_id'),
    amount: 9.99,
    status: 'completed',
    timestamp: '{{event_timestamp}}',
    method_type: 'credit_card',
  },
};

/** Entity ids for the events: the created rows when the Monolith folder ran, random ones otherwise. */
const eventIdsPre = `const pick = (name) => pm.collectionVariables.get(name) || String(1e6 + Math.floor(Math.random() * 1e6));
pm.collectionVariables.set('event_movie_id', pick('movie_id'));
pm.collectionVariables.set('event_user_id', pick('user_id'));
pm.collectionVariables.set('event_payment_id', pick('payment_id'));
pm.collectionVariables.set('event_timestamp', new Date().toISOString());`;

function eventPosted(s, type, idVar) {
  const payloadKey = { movie: 'movie_id', user: 'user_id', payment: 'payment_id' }[type];
  return `${jsonOk(s, 201, 'EventResponse')}
pm.test(\`\${where} answers status success with Kafka partition and offset\`, () => {
  pm.expect(body.status).to.equal('success');
  pm.expect(body.partition, 'partition').to.be.a('number').that.is.at.least(0);
  pm.expect(body.offset, 'offset').to.be.a('number').that.is.at.least(0);
});
pm.test(\`\${where} event is of type ${type} and carries the payload sent\`, () => {
  pm.expect(body.event.type).to.equal('${type}');
  pm.expect(Date.parse(body.event.timestamp), 'event.timestamp').to.not.be.NaN;
  pm.expect(body.event.payload.${payloadKey}).to.equal(Number(pm.collectionVariables.get('event_${payloadKey}')));
});
if (body && body.event) {
  const { partition, offset, event } = body;
  pm.collectionVariables.set('${idVar}', JSON.stringify({ id: event.id, partition, offset, payload: event.payload }));
}`;
}

/**
 * GET /api/events/recent for one type. The pre-request polls until the posted event shows up (the consumer
 * processes it asynchronously), bounded by a deadline; the request itself then proves it.
 */
function recentSeen(s, who, base, type, idVar) {
  const url = `${base}/api/events/recent?type=${type}&limit=100`;
  return request(who, `GET /api/events/recent?type=${type} (consumed)`, {
    url,
    pre: `const posted = JSON.parse(pm.collectionVariables.get('${idVar}') || '{}');
const deadline = Date.now() + 15000;
const started = Date.now();
function poll() {
  pm.sendRequest(pm.variables.replaceIn('${url}'), (err, res) => {
    let seen = false;
    try { seen = !err && res.json().events.some((e) => e.id === posted.id); } catch (_) {}
    if (seen) pm.variables.set('consumed_after_ms', String(Date.now() - started));
    else if (!err && Date.now() < deadline) setTimeout(poll, 100);
  });
}
if (posted.id) poll();`,
    test: `${jsonOk(s, 200, 'Recent')}
const posted = JSON.parse(pm.collectionVariables.get('${idVar}') || '{}');
const events = (body && body.events) || [];
pm.test(\`\${where} lists only ${type} events, newest first\`, () => {
  pm.expect(events.map((e) => e.type).filter((t) => t !== '${type}'), 'other types').to.be.empty;
  const times = events.map((e) => Date.parse(e.processed_at));
  pm.expect(times, 'processed_at').to.eql([...times].sort((a, b) => b - a));
});
pm.test(\`\${where} shows the posted ${type} event \${posted.id} from ${type}-events at its partition and offset (polled up to 15 s)\`, () => {
  const entry = events.find((e) => e.id === posted.id);
  pm.expect(entry, 'event ' + posted.id + ' among the processed events').to.be.an('object');
  pm.expect(entry.topic).to.equal('${type}-events');
  pm.expect([entry.partition, String(entry.offset)]).to.eql([posted.partition, String(posted.offset)]);
  pm.expect(entry.payload).to.eql(posted.payload);
});
console.log('${type} event seen consumed after ' + (pm.variables.get('consumed_after_ms') || '(never)') + ' ms of polling');`,
  });
}

function eventsFolder(s) {
  const who = 'events service';
  const base = '{{events_url}}';
  const post = (type) =>
    request(who, `POST /api/events/${type}`, {
      method: 'POST',
      url: `${base}/api/events/${type}`,
      pre: eventIdsPre,
      body: eventBodies[type],
      test: eventPosted(s, type, `${type}_event`),
    });
  return folder(
    'Events service',
    'Each event type goes into Kafka through HTTP and comes out of the consumer (GET /api/events/recent).',
    [
      request(who, 'GET /api/events/health', { url: `${base}/api/events/health`, test: healthOk(s) }),
      post('movie'),
      post('user'),
      post('payment'),
      recentSeen(s, who, base, 'movie', 'movie_event'),
      recentSeen(s, who, base, 'user', 'user_event'),
      recentSeen(s, who, base, 'payment', 'payment_event'),
    ],
    { direct: true },
  );
}

function gatewayFolder(s) {
  const who = 'gateway';
  const base = '{{gateway_url}}';
  return folder(
    'Gateway',
    'Every route of the contract through the single entry point; X-Upstream names the service that answered.',
    [
      request(who, 'GET /health', {
        url: `${base}/health`,
        test: `${statusIs(200)}
pm.test(\`\${where} answers text/plain "Strangler Fig Proxy is healthy"\`, () => {
  pm.expect(pm.response.headers.get('Content-Type') || '').to.match(/^text\\/plain/);
  pm.expect(pm.response.text()).to.equal('Strangler Fig Proxy is healthy');
});`,
      }),
      request(who, 'GET /ready', {
        url: '{{gateway_internal_url}}/ready',
        test: `${bodyLine}
${statusIs(200)}
${isJson()}
pm.test(\`\${where} is ready with Redis connected\`, () =>
  pm.expect({ status: body.status, redis: body.redis }).to.eql({ status: 'ready', redis: 'connected' }));`,
      }),
      request(who, 'GET /api/users with an X-Request-Id', {
        url: `${base}/api/users`,
        headers: [{ key: 'X-Request-Id', value: '{{request_id}}' }],
        pre: `pm.collectionVariables.set('request_id', 'e2e-' + ${uniqueSuffix});`,
        test: `${jsonOk(s, 200, 'Users')}
${upstreamIs('monolith')}
pm.test(\`\${where} answers with the request id it was sent (X-Request-Id)\`, () =>
  pm.expect(pm.response.headers.get('X-Request-Id')).to.equal(pm.collectionVariables.get('request_id')));`,
      }),
      request(who, 'GET /api/subscriptions without an X-Request-Id', {
        url: `${base}/api/subscriptions`,
        test: `${jsonOk(s, 200, 'Subscriptions')}
${upstreamIs('monolith')}
pm.test(\`\${where} gets a generated request id (X-Request-Id)\`, () =>
  pm.expect(pm.response.headers.get('X-Request-Id'), 'X-Request-Id').to.be.a('string').that.is.not.empty);`,
      }),
      request(who, 'POST /api/users', {
        method: 'POST',
        url: `${base}/api/users`,
        pre: `const suffix = ${uniqueSuffix};
pm.collectionVariables.set('gw_username', 'e2e_gw_' + suffix);
pm.collectionVariables.set('gw_email', 'e2e_gw_' + suffix + '@example.com');`,
        body: { username: '{{gw_username}}', email: '{{gw_email}}' },
        test: `${jsonOk(s, 201, 'User')}
${upstreamIs('monolith')}
pm.test(\`\${where} echoes username and email\`, () => {
  pm.expect(body.username).to.equal(pm.collectionVariables.get('gw_username'));
  pm.expect(body.email).to.equal(pm.collectionVariables.get('gw_email'));
});
if (body && Number.isInteger(body.id)) pm.collectionVariables.set('gw_user_id', String(body.id));`,
      }),
      request(who, 'GET /api/users?id=<user created through the gateway>', {
        url: `${base}/api/users?id={{gw_user_id}}`,
        test: `${jsonOk(s, 200, 'User')}
${upstreamIs('monolith')}
pm.test(\`\${where} returns that user (query string passed through)\`, () =>
  pm.expect(body.username).to.equal(pm.collectionVariables.get('gw_username')));`,
      }),
      request(who, 'POST /api/payments', {
        method: 'POST',
        url: `${base}/api/payments`,
        body: { user_id: num('gw_user_id'), amount: 4.5 },
        test: `${jsonOk(s, 201, 'Payment')}
${upstreamIs('monolith')}
pm.test(\`\${where} echoes user_id and amount\`, () => {
  pm.expect(body.user_id).to.equal(Number(pm.collectionVariables.get('gw_user_id')));
  pm.expect(body.amount).to.equal(4.5);
});`,
      }),
      request(who, 'GET /api/payments?user_id=<that user>', {
        url: `${base}/api/payments?user_id={{gw_user_id}}`,
        test: `${jsonOk(s, 200, 'Payments')}
${upstreamIs('monolith')}
pm.test(\`\${where} returns that user's one payment\`, () => {
  pm.expect(body).to.have.lengthOf(1);
  pm.expect(body[0].amount).to.equal(4.5);
});`,
      }),
      request(who, 'POST /api/subscriptions', {
        method: 'POST',
        url: `${base}/api/subscriptions`,
        body: {
          user_id: num('gw_user_id'),
          plan_type: 'basic',
          start_date: '2026-02-01T00:00:00Z',
          end_date: '2026-03-01T00:00:00Z',
        },
        test: `${jsonOk(s, 201, 'Subscription')}
${upstreamIs('monolith')}
pm.test(\`\${where} echoes user_id and plan_type\`, () => {
  pm.expect(body.user_id).to.equal(Number(pm.collectionVariables.get('gw_user_id')));
  pm.expect(body.plan_type).to.equal('basic');
});`,
      }),
      request(who, 'GET /api/subscriptions?user_id=<that user>', {
        url: `${base}/api/subscriptions?user_id={{gw_user_id}}`,
        test: `${jsonOk(s, 200, 'Subscriptions')}
${upstreamIs('monolith')}
pm.test(\`\${where} returns that user's one subscription\`, () => {
  pm.expect(body).to.have.lengthOf(1);
  pm.expect(body[0].plan_type).to.equal('basic');
});`,
      }),
      request(who, 'GET /api/movies', {
        url: `${base}/api/movies`,
        test: `${jsonOk(s, 200, 'Movies')}
${upstreamIs('monolith', 'movies')}`,
      }),
      request(who, 'POST /api/movies', {
        method: 'POST',
        url: `${base}/api/movies`,
        pre: `pm.collectionVariables.set('gw_movie_title', 'E2E gateway movie ' + ${uniqueSuffix});`,
        body: {
          title: '{{gw_movie_title}}',
          description: 'Created by the Newman end-to-end run through the gateway',
          genres: ['Comedy'],
          rating: 6,
        },
        test: `${jsonOk(s, 201, 'Movie')}
${upstreamIs('monolith', 'movies')}
pm.test(\`\${where} echoes the title\`, () => pm.expect(body.title).to.equal(pm.collectionVariables.get('gw_movie_title')));
if (body && Number.isInteger(body.id)) pm.collectionVariables.set('gw_movie_id', String(body.id));`,
      }),
      request(who, 'GET /api/movies?id=<movie created through the gateway>', {
        url: `${base}/api/movies?id={{gw_movie_id}}`,
        test: `${jsonOk(s, 200, 'Movie')}
${upstreamIs('monolith', 'movies')}
pm.test(\`\${where} returns that movie whichever side answers (shared tables)\`, () =>
  pm.expect(body.title).to.equal(pm.collectionVariables.get('gw_movie_title')));`,
      }),
      request(who, 'GET /api/events/health', {
        url: `${base}/api/events/health`,
        test: `${healthOk(s)}
${upstreamIs('events')}`,
      }),
      ...['movie', 'user', 'payment'].map((type) =>
        request(who, `POST /api/events/${type}`, {
          method: 'POST',
          url: `${base}/api/events/${type}`,
          pre: eventIdsPre,
          body: eventBodies[type],
          test: `${eventPosted(s, type, `gw_${type}_event`)}
${upstreamIs('events')}`,
        }),
      ),
      // The latest processed events carry users' names, emails and payment details: they stay on the
      // events service (the Events service folder reads them there).
      request(who, 'GET /api/events/recent (not exposed)', {
        url: `${base}/api/events/recent?type=movie&limit=100`,
        test: `${errorCase(s, 404)}
pm.test(\`\${where} never reaches the events service (no X-Upstream)\`, () =>
  pm.expect(pm.response.headers.get('X-Upstream'), 'X-Upstream').to.equal(undefined));`,
      }),
    ],
  );
}

/** One migration step: PUT the flag, then check the admin API's answer echoes it. */
function putFlag(s, title, flag, extraTest = '') {
  return request('migration', title, {
    method: 'PUT',
    url: '{{gateway_internal_url}}/admin/flags/movies',
    headers: [bearer],
    body: flag,
    test: `${jsonOk(s, 200, 'Flag')}
pm.test(\`\${where} answers the flag as set\`, () => {
  pm.expect({ enabled: body.enabled, percent: body.percent }).to.eql(${JSON.stringify(flag)});
});${extraTest}`,
  });
}

/** `times` calls of GET /api/movies through the gateway, all answered by `upstream`. */
function allAnsweredBy(s, title, upstream, times, counter) {
  return request('migration', title, {
    url: '{{gateway_url}}/api/movies',
    // A different (unique) user on every call, so the check covers the whole population, not one bucket.
    headers: [{ key: 'X-User-Id', value: '{{probe_user}}' }],
    pre: `if (!pm.collectionVariables.get('${counter}')) {
  ${awaitUpstream(upstream, 'undefined').split('\n').join('\n  ')}
}
pm.collectionVariables.set('probe_user', 'e2e-probe-' + ${uniqueSuffix});`,
    test: `${jsonOk(s, 200, 'Movies')}
const call = Number(pm.collectionVariables.get('${counter}') || 0) + 1;
pm.test(\`\${where} call \${call}/${times} (X-User-Id \${pm.collectionVariables.get('probe_user')}) is answered by ${upstream}\`, () =>
  pm.expect(pm.response.headers.get('X-Upstream'), 'X-Upstream').to.equal('${upstream}'));
if (call === 1) console.log('5 answers in a row from ${upstream} after ' + (pm.variables.get('converged_ms') || '(never)') + ' ms');
${repeatLoop(counter, times)}`,
  });
}

/** A pinned user at 50 %: every call lands on the side its Unleash bucket says. */
function pinnedUser(s, side, times, counter) {
  const wantsMovies = side === 'movies';
  return request('migration', `GET /api/movies at 50 % with a pinned X-User-Id on the ${side} side`, {
    url: '{{gateway_url}}/api/movies',
    headers: [{ key: 'X-User-Id', value: `{{pinned_${side}_user}}` }],
    pre: `${unleashBucket}
if (!pm.collectionVariables.get('${counter}')) {
  // A fresh user id each run whose bucket is ${wantsMovies ? '<= 50 (movies)' : '> 50 (monolith)'}.
  let id;
  do { id = 'e2e-pinned-' + ${uniqueSuffix}; } while ((bucketOf(id) <= 50) !== ${wantsMovies});
  pm.collectionVariables.set('pinned_${side}_user', id);
  ${awaitUpstream(side, 'id').split('\n').join('\n  ')}
}`,
    test: `${unleashBucket}
${jsonOk(s, 200, 'Movies')}
const id = pm.collectionVariables.get('pinned_${side}_user');
const call = Number(pm.collectionVariables.get('${counter}') || 0) + 1;
pm.test(\`\${where}: \${id} (Unleash bucket \${bucketOf(id)}) stays on ${side}, call \${call}/${times}\`, () =>
  pm.expect(pm.response.headers.get('X-Upstream'), 'X-Upstream').to.equal('${side}'));
${repeatLoop(counter, times)}`,
  });
}

function migrationFolder(s) {
  const who = 'migration';
  return folder(
    'Migration',
    'Moves /api/movies between the monolith and the movies service with the admin API, and puts the flag back ' +
      'as it was at the end. Needs admin_token.',
    [
      request(who, 'GET /admin/flags/movies (remember the current value)', {
        url: '{{gateway_internal_url}}/admin/flags/movies',
        headers: [bearer],
        pre: "pm.collectionVariables.set('migration_started_at', new Date().toISOString());",
        test: `${jsonOk(s, 200, 'Flag')}
pm.test(\`\${where} names the flag\`, () => pm.expect(body.name).to.equal('movies'));
if (body && typeof body.percent === 'number' && !pm.collectionVariables.get('flag_original')) {
  pm.collectionVariables.set('flag_original', JSON.stringify({ enabled: body.enabled, percent: body.percent }));
}`,
      }),
      putFlag(s, 'PUT /admin/flags/movies {enabled:true, percent:0}', { enabled: true, percent: 0 }),
      allAnsweredBy(s, 'GET /api/movies at 0 %', 'monolith', 10, 'round_at_0'),
      putFlag(s, 'PUT /admin/flags/movies {enabled:true, percent:100}', { enabled: true, percent: 100 }),
      allAnsweredBy(s, 'GET /api/movies at 100 %', 'movies', 10, 'round_at_100'),
      request(who, 'GET /api/movies/health through the gateway at 100 %', {
        url: '{{gateway_url}}/api/movies/health',
        test: `${healthOk(s)}
${upstreamIs('movies')}`,
      }),
      putFlag(s, 'PUT /admin/flags/movies {enabled:true, percent:50}', { enabled: true, percent: 50 }),
      request(who, 'GET /metrics at 50 %', {
        url: '{{gateway_internal_url}}/metrics',
        test: `${statusIs(200)}
const text = pm.response.text();
pm.test(\`\${where} answers Prometheus text\`, () =>
  pm.expect(pm.response.headers.get('Content-Type') || '').to.match(/^text\\/plain/));
pm.test(\`\${where} exports the flag as set: percent 50, enabled\`, () => {
  pm.expect(text).to.match(/^gateway_flag_percent\\{flag="movies"\\} 50$/m);
  pm.expect(text).to.match(/^gateway_flag_enabled\\{flag="movies"\\} 1$/m);
});
pm.test(\`\${where} counts the requests the movies service answered\`, () =>
  pm.expect(text).to.match(/^gateway_requests_total\\{[^}]*upstream="movies"[^}]*\\} [1-9]/m));`,
      }),
      pinnedUser(s, 'movies', 10, 'round_pinned_movies'),
      pinnedUser(s, 'monolith', 10, 'round_pinned_monolith'),
      putFlag(s, 'PUT /admin/flags/movies {enabled:false, percent:0} (disabled = fully migrated)', {
        enabled: false,
        percent: 0,
      }),
      allAnsweredBy(s, 'GET /api/movies with the flag disabled', 'movies', 5, 'round_disabled'),
      request(who, 'PUT /admin/flags/movies (restore the remembered value)', {
        method: 'PUT',
        url: '{{gateway_internal_url}}/admin/flags/movies',
        headers: [bearer],
        raw: '{{flag_original}}',
        test: `${jsonOk(s, 200, 'Flag')}
pm.test(\`\${where} flag is back to \${pm.collectionVariables.get('flag_original')}\`, () =>
  pm.expect({ enabled: body.enabled, percent: body.percent }).to.eql(JSON.parse(pm.collectionVariables.get('flag_original'))));
pm.collectionVariables.set('flag_restored', pm.collectionVariables.get('flag_original'));
pm.collectionVariables.unset('flag_original');`,
      }),
      request(who, 'GET /admin/flags/movies/history', {
        url: '{{gateway_internal_url}}/admin/flags/movies/history',
        headers: [bearer],
        test: `${bodyLine}
${statusIs(200)}
${isJson()}
// A minute of slack for a gateway clock that differs from this machine's.
const since = Date.parse(pm.collectionVariables.get('migration_started_at')) - 60000;
const entries = ((body && body.history) || []).filter((e) => Date.parse(e.at) >= since);
pm.test(\`\${where} lists changes newest first, each with who, when, old and new\`, () => {
  pm.expect(body.history, 'history').to.be.an('array').that.is.not.empty;
  for (const e of body.history) pm.expect(e).to.include.all.keys('at', 'by', 'old', 'new');
  const times = body.history.map((e) => Date.parse(e.at));
  pm.expect(times).to.eql([...times].sort((a, b) => b - a));
});
pm.test(\`\${where} records this run's step 0 % -> 100 % and, last, the restore\`, () => {
  const step = entries.find((e) => e.old && e.old.percent === 0 && e.old.enabled && e.new.percent === 100 && e.new.enabled);
  pm.expect(step, '0 -> 100 change since ' + pm.collectionVariables.get('migration_started_at')).to.be.an('object');
  const last = entries[0] && entries[0].new;
  pm.expect(last && { enabled: last.enabled, percent: last.percent }).to.eql(JSON.parse(pm.collectionVariables.get('flag_restored')));
});`,
      }),
    ],
  );
}

function badInputFolder(s) {
  const bad = (who, title, options, code, mentions) =>
    request(who, title, { ...options, test: errorCase(s, code, mentions) });
  const monolith = folder(
    'Bad input: monolith',
    '400/404/409 straight from the monolith.',
    [
      bad(
        'monolith',
        'POST /api/users without email',
        {
          method: 'POST',
          url: '{{monolith_url}}/api/users',
          body: { username: 'e2e_no_email' },
        },
        400,
        'email',
      ),
      bad(
        'monolith',
        'POST /api/users with the username of the user created above',
        {
          method: 'POST',
          url: '{{monolith_url}}/api/users',
          body: { username: '{{username}}', email: 'other_{{email}}' },
          pre: existingUserPre,
        },
        409,
        'username',
      ),
      bad(
        'monolith',
        'POST /api/users with the email of the user created above',
        {
          method: 'POST',
          url: '{{monolith_url}}/api/users',
          body: { username: 'other_{{username}}', email: '{{email}}' },
          pre: existingUserPre,
        },
        409,
        'email',
      ),
      bad('monolith', 'GET /api/users?id=abc', { url: '{{monolith_url}}/api/users?id=abc' }, 400, 'id'),
      bad(
        'monolith',
        'GET /api/users?id=2147483000 (unknown)',
        { url: '{{monolith_url}}/api/users?id=2147483000' },
        404,
      ),
      bad(
        'monolith',
        'POST /api/movies with rating "high"',
        {
          method: 'POST',
          url: '{{monolith_url}}/api/movies',
          body: { title: 'E2E bad movie', description: 'bad rating', rating: 'high' },
        },
        400,
        'rating',
      ),
      bad(
        'monolith',
        'POST /api/payments without amount',
        {
          method: 'POST',
          url: '{{monolith_url}}/api/payments',
          body: { user_id: 1 },
        },
        400,
        'amount',
      ),
      bad(
        'monolith',
        'GET /api/payments?user_id=abc',
        { url: '{{monolith_url}}/api/payments?user_id=abc' },
        400,
        'user_id',
      ),
      bad(
        'monolith',
        'POST /api/subscriptions with start_date "yesterday"',
        {
          method: 'POST',
          url: '{{monolith_url}}/api/subscriptions',
          body: { user_id: 1, plan_type: 'basic', start_date: 'yesterday', end_date: '2026-12-31T00:00:00Z' },
        },
        400,
        'start_date',
      ),
      bad(
        'monolith',
        'GET /api/subscriptions?id=2147483000 (unknown)',
        {
          url: '{{monolith_url}}/api/subscriptions?id=2147483000',
        },
        404,
      ),
      bad(
        'monolith',
        'POST /api/users with a body that is not JSON',
        {
          method: 'POST',
          url: '{{monolith_url}}/api/users',
          raw: '{"username": ',
        },
        400,
      ),
    ],
    { direct: true },
  );
  const movies = folder(
    'Bad input: movies service',
    '400/404 straight from the movies service.',
    [
      bad(
        'movies service',
        'POST /api/movies without title',
        {
          method: 'POST',
          url: '{{movies_url}}/api/movies',
          body: { description: 'no title', rating: 5 },
        },
        400,
        'title',
      ),
      bad('movies service', 'GET /api/movies?id=abc', { url: '{{movies_url}}/api/movies?id=abc' }, 400, 'id'),
      bad(
        'movies service',
        'GET /api/movies?id=2147483000 (unknown)',
        { url: '{{movies_url}}/api/movies?id=2147483000' },
        404,
      ),
    ],
    { direct: true },
  );
  const events = folder(
    'Bad input: events service',
    '400 straight from the events service: nothing is published.',
    [
      bad(
        'events service',
        'POST /api/events/movie without movie_id',
        {
          method: 'POST',
          url: '{{events_url}}/api/events/movie',
          body: { title: 'E2E', action: 'viewed' },
        },
        400,
        'movie_id',
      ),
      bad(
        'events service',
        'POST /api/events/user with timestamp "now"',
        {
          method: 'POST',
          url: '{{events_url}}/api/events/user',
          body: { user_id: 1, action: 'registered', timestamp: 'now' },
        },
        400,
        'timestamp',
      ),
      bad(
        'events service',
        'POST /api/events/payment with amount "lots"',
        {
          method: 'POST',
          url: '{{events_url}}/api/events/payment',
          body: {
            payment_id: 1,
            user_id: 1,
            amount: 'lots',
            status: 'completed',
            timestamp: '2026-01-01T00:00:00Z',
          },
        },
        400,
        'amount',
      ),
    ],
    { direct: true },
  );
  const gateway = folder(
    'Bad input: gateway and admin API',
    'Bad input through the entry point, and the admin API guard.',
    [
      bad('gateway', 'GET /api/users?id=abc', { url: '{{gateway_url}}/api/users?id=abc' }, 400, 'id'),
      bad(
        'gateway',
        'POST /api/movies without title',
        {
          method: 'POST',
          url: '{{gateway_url}}/api/movies',
          body: { description: 'no title', rating: 5 },
        },
        400,
        'title',
      ),
      bad(
        'gateway',
        'POST /api/events/payment without payment_id',
        {
          method: 'POST',
          url: '{{gateway_url}}/api/events/payment',
          body: { user_id: 1, amount: 1, status: 'completed', timestamp: '2026-01-01T00:00:00Z' },
        },
        400,
        'payment_id',
      ),
      bad('gateway', 'GET /api/no-such-resource', { url: '{{gateway_url}}/api/no-such-resource' }, 404),
      request('admin API', 'GET /admin/flags/movies (remember it before the bad calls)', {
        url: '{{gateway_internal_url}}/admin/flags/movies',
        headers: [bearer],
        test: `${jsonOk(s, 200, 'Flag')}
if (body) pm.collectionVariables.set('flag_before_bad_input', JSON.stringify({ enabled: body.enabled, percent: body.percent }));`,
      }),
      bad(
        'admin API',
        'GET /admin/flags/movies without a token',
        { url: '{{gateway_internal_url}}/admin/flags/movies' },
        401,
      ),
      bad(
        'admin API',
        'PUT /admin/flags/movies with a wrong token',
        {
          method: 'PUT',
          url: '{{gateway_internal_url}}/admin/flags/movies',
          headers: [{ key: 'Authorization', value: 'Bearer not-the-admin-token' }],
          body: { percent: 0 },
        },
        401,
      ),
      bad(
        'admin API',
        'PUT /admin/flags/movies {percent:101}',
        {
          method: 'PUT',
          url: '{{gateway_internal_url}}/admin/flags/movies',
          headers: [bearer],
          body: { percent: 101 },
        },
        400,
        'percent',
      ),
      bad(
        'admin API',
        'PUT /admin/flags/movies {percent:"abc"}',
        {
          method: 'PUT',
          url: '{{gateway_internal_url}}/admin/flags/movies',
          headers: [bearer],
          body: { percent: 'abc' },
        },
        400,
        'percent',
      ),
      bad(
        'admin API',
        'PUT /admin/flags/movies with a body that is not JSON',
        {
          method: 'PUT',
          url: '{{gateway_internal_url}}/admin/flags/movies',
          headers: [bearer],
          raw: '{"percent": ',
        },
        400,
      ),
      bad(
        'admin API',
        'GET /admin/flags/no-such-flag',
        {
          url: '{{gateway_internal_url}}/admin/flags/no-such-flag',
          headers: [bearer],
        },
        404,
      ),
      request('admin API', 'GET /admin/flags/movies (untouched by the bad calls)', {
        url: '{{gateway_internal_url}}/admin/flags/movies',
        headers: [bearer],
        test: `${jsonOk(s, 200, 'Flag')}
pm.test(\`\${where} flag is what it was before the rejected calls\`, () =>
  pm.expect({ enabled: body.enabled, percent: body.percent }).to.eql(JSON.parse(pm.collectionVariables.get('flag_before_bad_input'))));`,
      }),
    ],
  );
  return folder('Bad input', '400/401/404/409 cases across the services: JSON errors naming the problem.', [
    monolith,
    movies,
    events,
    gateway,
  ]);
}

// ---------------------------------------------------------------------------------------------------------

const chainedVariables = [
  'username',
  'email',
  'user_id',
  'movie_title',
  'movie_id',
  'payment_id',
  'subscription_id',
  'service_movie_title',
  'service_movie_id',
  'event_movie_id',
  'event_user_id',
  'event_payment_id',
  'event_timestamp',
  'movie_event',
  'user_event',
  'payment_event',
  'request_id',
  'gw_username',
  'gw_email',
  'gw_user_id',
  'gw_movie_title',
  'gw_movie_id',
  'gw_movie_event',
  'gw_user_event',
  'gw_payment_event',
  'flag_original',
  'flag_restored',
  'migration_started_at',
  'flag_before_bad_input',
  'probe_user',
  'pinned_movies_user',
  'pinned_monolith_user',
];

export function buildCollection() {
  const s = { ...contractSchemas(), ...extraSchemas };
  return {
    info: {
      _postman_id: '6f0c2b9e-5d1a-4f2e-9c3b-c1a7e2e0a5b1',
      name: 'CinemaAbyss',
      description:
        'End-to-end checks of CinemaAbyss: each service on its own, the gateway in front of them, the migration ' +
        'flag, and bad input. Generated from tests/postman/collection.mjs; run with `node tests/postman/run.mjs ' +
        '[local|docker|kubernetes]`.',
      schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    },
    item: [
      monolithFolder(s),
      moviesFolder(s),
      eventsFolder(s),
      gatewayFolder(s),
      migrationFolder(s),
      badInputFolder(s),
    ],
    variable: chainedVariables.map((key) => ({ key, value: '' })),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(collectionPath, `${JSON.stringify(buildCollection(), null, 2)}\n`);
  // Formatted as the repository's formatter wants it, so `pnpm lint` stays clean after a regeneration.
  execFileSync('pnpm', ['exec', 'biome', 'format', '--write', collectionPath], { stdio: 'ignore' });
  console.log(`wrote ${collectionPath}`);
}
