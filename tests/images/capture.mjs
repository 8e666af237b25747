#!/usr/bin/env node
// The data path of one scripts/images run, on the native stack: no registry here, so no Debezium Connect image,
// and the native Kafka Connect worker (tools/connect) stands in for it. Its connector scripts/stack registered
// captures the shared tables (public), while each way's monolith writes the run's own schema: so a connector of the
// run's own, made from the same file (deploy/connect/cinemaabyss-movies.json) with the run's schema, slot,
// publication and topic, captures that schema for the way's movies-sync.
//
//   node tests/images/capture.mjs start --name NAME --schema SCHEMA --topic TOPIC --state FILE
//   node tests/images/capture.mjs stop [--state FILE]   (also removes what an interrupted run left: connectors,
//     slots, publications, topics and consumer groups named cinemaabyss(-|_)images...)
// Environment: DATABASE_URL (the tables' owner), CDC_DATABASE_URL (the capture role), CONNECT_URL, KAFKA_BROKERS.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { fail } from './standins.mjs';

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string' },
    schema: { type: 'string' },
    topic: { type: 'string' },
    state: { type: 'string' },
  },
});
const env = (name) => process.env[name] ?? fail(`${name} is not set`);
const connect = env('CONNECT_URL');
const say = (message) => console.log(`\x1b[1m[images]\x1b[0m capture: ${message}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// The run's names: one prefix, so stop finds whatever an earlier run left.
const PREFIX = 'cinemaabyss_images';

async function sql(url, text, values = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function rest(method, path, body) {
  const response = await fetch(`${connect}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** The connector file, pointed at the run's schema, slot, publication and topic; everything else as shipped. */
function connectorConfig(schema, topic, slot) {
  const config = JSON.parse(readFileSync('deploy/connect/cinemaabyss-movies.json', 'utf8'));
  const tables = config['table.include.list'].split(',').map((t) => t.replace(/^public\./, ''));
  const { name: _, ...rest } = config;
  return {
    ...rest,
    'slot.name': slot,
    'publication.name': slot,
    'topic.prefix': PREFIX,
    'table.include.list': tables.map((t) => `${schema}.${t}`).join(','),
    'heartbeat.action.query': config['heartbeat.action.query'].replace(
      'cdc_heartbeat',
      `${schema}.cdc_heartbeat`,
    ),
    'transforms.onestream.regex': `${PREFIX}\\.(${schema}\\.(${tables.join('|')})|transaction)`,
    'transforms.onestream.replacement': topic,
  };
}

async function start() {
  const { name, schema, topic, state } = options;
  if (!name || !schema || !topic || !state) fail('start needs --name --schema --topic --state');
  const owner = env('DATABASE_URL');
  if (!name.startsWith('cinemaabyss-images-')) fail('the connector name starts with cinemaabyss-images-');
  const slot = name.replace(/\W/g, '_').toLowerCase();
  writeFileSync(state, JSON.stringify({ name, slot, topic }));
  // As the tables' owner, on the run's schema: the capture role's grants (the file every deployment runs) and
  // the publication.
  const role = decodeURIComponent(new URL(env('CDC_DATABASE_URL')).username);
  const grants = spawnSync(
    'psql',
    [owner, '-qAt', '-v', `role=${role}`, '-f', 'deploy/k8s/postgres/capture-grants.sql'],
    { encoding: 'utf8', env: { ...process.env, PGOPTIONS: `-c search_path=${schema}` } },
  );
  if (grants.status !== 0) fail(`capture-grants.sql on ${schema} failed: ${grants.stderr}`);
  // The shared tables are in public, which every role may use; the run's schema needs saying so.
  await sql(owner, `GRANT USAGE ON SCHEMA ${schema} TO "${role}"`);
  const tables = ['movies', 'genres', 'movie_genres', 'cdc_heartbeat'].map((t) => `${schema}.${t}`);
  await sql(owner, `CREATE PUBLICATION ${slot} FOR TABLE ${tables.join(', ')}`);
  const put = await rest('PUT', `/connectors/${name}/config`, connectorConfig(schema, topic, slot));
  if (put.status !== 201 && put.status !== 200) fail(`Connect refused ${name}: ${JSON.stringify(put.body)}`);
  // Done when the snapshot of the run's tables is on the topic (a task reports RUNNING before it snapshots).
  const kafka = new Kafka({ brokers: env('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const { body } = await rest('GET', `/connectors/${name}/status`);
      const failed = [body?.connector, ...(body?.tasks ?? [])].find((s) => s?.state === 'FAILED');
      if (failed) fail(`${name} FAILED: ${failed.trace ?? JSON.stringify(body)}`);
      if ((await admin.listTopics()).includes(topic)) {
        const [{ high }] = await admin.fetchTopicOffsets(topic);
        if (Number(high) > 0) break;
      }
      if (Date.now() > deadline) fail(`no change of ${schema} on ${topic} 90 s after registering ${name}`);
      await sleep(250);
    }
  } finally {
    await admin.disconnect();
  }
  say(
    `the native Kafka Connect (${connect}) stands in for the Connect image: connector ${name} captures ${schema} into ${topic}`,
  );
}

async function stop() {
  const owner = env('DATABASE_URL');
  const cdc = env('CDC_DATABASE_URL');
  // Every connector, slot, publication and topic of a run, this one's or an interrupted one's.
  const { body: connectors = [] } = await rest('GET', '/connectors');
  for (const name of connectors.filter((n) => n.startsWith('cinemaabyss-images-'))) {
    // Stopped, its stored offsets removed, then deleted: Connect keeps a deleted connector's offsets, which would
    // point a connector of the same name at a slot that no longer exists (scripts/images names one per run too).
    await rest('PUT', `/connectors/${name}/stop`);
    const stopped = Date.now() + 15_000;
    while (
      Date.now() < stopped &&
      (await rest('GET', `/connectors/${name}/status`)).body?.connector?.state !== 'STOPPED'
    ) {
      await sleep(250);
    }
    await rest('DELETE', `/connectors/${name}/offsets`);
    await rest('DELETE', `/connectors/${name}`);
  }
  const like = `${PREFIX}\\_%`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const slots = await sql(
      cdc,
      'SELECT slot_name, active FROM pg_replication_slots WHERE slot_name LIKE $1',
      [like],
    );
    for (const { slot_name: slot } of slots.filter((s) => !s.active)) {
      await sql(cdc, 'SELECT pg_drop_replication_slot($1)', [slot]);
    }
    if (slots.every((s) => !s.active)) break;
    if (Date.now() > deadline)
      fail(`slots still in use after 30 s: ${slots.map((s) => s.slot_name).join(', ')}`);
    await sleep(250);
  }
  for (const { pubname } of await sql(owner, 'SELECT pubname FROM pg_publication WHERE pubname LIKE $1', [
    like,
  ])) {
    await sql(owner, `DROP PUBLICATION IF EXISTS ${pubname}`);
  }
  const kafka = new Kafka({ brokers: env('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter(
      (t) => t.startsWith(`${PREFIX}.`) || t.endsWith(`.${PREFIX}`),
    );
    if (topics.length > 0) await admin.deleteTopics({ topics });
    // And movies-sync's consumer groups of earlier ways (scripts/images names one per way and run, so none
    // reads a topic made again from stale offsets). A group whose killed member has not timed out yet is left
    // for the next stop.
    const { groups } = await admin.listGroups();
    for (const { groupId } of groups.filter((g) => g.groupId.startsWith('cinemaabyss-images-movies-sync-'))) {
      await admin.deleteGroups([groupId]).catch(() => {});
    }
  } finally {
    await admin.disconnect();
  }
  if (options.state) rmSync(options.state, { force: true });
}

const commands = { start, stop };
const command = commands[positionals[0]] ?? fail('usage: capture.mjs start|stop ...');
await command();
