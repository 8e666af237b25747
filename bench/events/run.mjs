// Side-by-side benchmark of publishing events to the local Kafka broker, in one run:
//   1. Kafka's own ProducerPerformance (kafka-producer-perf-test, same jars as the broker): the ceiling.
//   2. kafkajs in batches of 100: what the client library can do when it may batch.
//   3. kafkajs, one send per event with CONCURRENCY in flight: what the service's producer does per request.
//   4. services/events over HTTP at CONCURRENCY (load from wrk, a C program, so it leaves the 2 cores to
//      the contenders), as a separate process like in production.
// All with acks=all and an idempotent producer, on fresh topics of this run (deleted at the end).
// Needs the broker: tools/kafka/kafka.sh start. Bounded: about a minute.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../..');
const eventsServer = join(repo, 'services/events/dist/server.js');
const kafkaSh = join(repo, 'tools/kafka/kafka.sh');
const BROKER = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const PERF_RECORDS = Number(process.env.BENCH_PERF_RECORDS ?? 200_000);
const run = `bench-${Date.now()}`;

try {
  execFileSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' });
} catch {
  console.error('bench/events needs wrk: apt-get install wrk');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'bench-events-'));
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

const kafka = new Kafka({ clientId: 'bench-events', brokers: [BROKER], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
try {
  await admin.connect();
} catch {
  console.error(`bench/events: no Kafka broker at ${BROKER}; start one with: tools/kafka/kafka.sh start`);
  process.exit(1);
}

// One event body, the size the service really publishes (~250 bytes of JSON).
const sampleEvent = (i) =>
  JSON.stringify({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    type: 'movie',
    timestamp: new Date().toISOString(),
    payload: {
      movie_id: i,
      title: 'Inception',
      action: 'viewed',
      user_id: 7,
      rating: 8.5,
      genres: ['Sci-Fi', 'Action'],
    },
  });
const recordSize = Buffer.byteLength(sampleEvent(1));

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const summarize = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
};

async function createTopics(...topics) {
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
  });
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Reads `topic` in its own group and records now minus each message's create time. */
async function latencyProbe(topic) {
  const consumer = kafka.consumer({ groupId: `${topic}-probe`, maxWaitTimeInMs: 100 });
  const latencies = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let joined;
  const ready = new Promise((resolve) => {
    joined = resolve;
  });
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const message of batch.messages) latencies.push(now - Number(message.timestamp));
    },
  });
  await ready;
  return { latencies, stop: () => consumer.disconnect() };
}

// 1. ProducerPerformance: its own batching and compression defaults, acks=all, idempotent.
async function producerPerformance() {
  const topic = `${run}-perf`;
  await createTopics(topic);
  const out = execFileSync(
    'bash',
    [
      kafkaSh,
      'run-class',
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(PERF_RECORDS),
      '--record-size',
      String(recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${BROKER}`,
      'acks=all',
      'enable.idempotence=true',
    ],
    // A full JIT and a real heap: the tool's quick-start defaults would understate the ceiling.
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, KAFKA_TOOL_OPTS: '-Xmx512m -XX:+UseG1GC' } },
  );
  // Last line: "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency, P50 ms 50th, ..., P99 ms 99th, ..."
  const summary = out.trim().split('\n').at(-1) ?? '';
  const number = (pattern) => Number(summary.match(pattern)?.[1]);
  return {
    name: 'kafka-producer-perf-test (JVM, batched)',
    rate: number(/([\d.]+) records\/sec/),
    latency: { p50: number(/(\d+) ms 50th/), p99: number(/(\d+) ms 99th/) },
    latencyKind: 'send->ack',
    e2e: undefined,
  };
}

// 2./3. kafkajs producing directly, in-process consumer measuring produce-to-consume like the service.
async function kafkajsProducer({ batchSize }) {
  const topic = `${run}-kafkajs-${batchSize}`;
  await createTopics(topic);
  const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const probe = await latencyProbe(topic);
  const sendLatencies = [];
  let sent = 0;
  let i = 0;
  const started = performance.now();
  const deadline = started + DURATION_S * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const messages = Array.from({ length: batchSize }, () => {
        i += 1;
        return { key: String(i), value: sampleEvent(i) };
      });
      const t0 = performance.now();
      await producer.send({ topic, acks: -1, messages });
      sendLatencies.push(performance.now() - t0);
      sent += batchSize;
    }
  };
  const workers = batchSize === 1 ? CONCURRENCY : 4;
  await Promise.all(Array.from({ length: workers }, worker));
  const rate = sent / ((performance.now() - started) / 1000);
  await waitFor(`kafkajs consumer to read ${sent} messages`, () => probe.latencies.length >= sent, 30_000);
  await probe.stop();
  await producer.disconnect();
  return {
    name:
      batchSize === 1
        ? `kafkajs, 1 event per send, ${workers} in flight`
        : `kafkajs, ${batchSize} events per send, ${workers} in flight`,
    rate,
    latency: summarize(sendLatencies),
    latencyKind: batchSize === 1 ? 'send->ack' : 'batch send->ack',
    e2e: summarize(probe.latencies),
  };
}

// 4. The events service over HTTP, its own process, wrk at CONCURRENCY connections.
async function eventsService() {
  const port = await freePort();
  const env = {
    PORT: String(port),
    KAFKA_BROKERS: BROKER,
    KAFKA_GROUP_ID: `${run}-service`,
    MOVIE_EVENTS_TOPIC: `${run}-movie`,
    USER_EVENTS_TOPIC: `${run}-user`,
    PAYMENT_EVENTS_TOPIC: `${run}-payment`,
    DLQ_TOPIC: `${run}-dlq`,
    RECENT_EVENTS_CAPACITY: '100000',
    LOG_LEVEL: 'warn',
  };
  const child = spawn('node', [eventsServer], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      'the events service to be ready',
      async () => (await fetch(`${base}/api/events/ready`)).ok,
      30_000,
    );
    const script = join(work, 'post.lua');
    writeFileSync(
      script,
      `local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  return wrk.format(nil, "/api/events/movie", nil,
    '{"movie_id":' .. i .. ',"title":"Inception","action":"viewed","user_id":7,"rating":8.5,"genres":["Sci-Fi","Action"]}')
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %f %f\\n", summary.requests, summary.errors.status + summary.errors.connect + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
`,
    );
    // Warm-up (JIT, connections, producer metadata), then the measured run.
    execFileSync('wrk', ['-t1', `-c${CONCURRENCY}`, '-d2s', '-s', script, base], { encoding: 'utf8' });
    const produced = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return Number(text.match(/^events_produced_total\{type="movie"\} (\d+)/m)?.[1] ?? 0);
    };
    const before = await produced();
    const out = execFileSync('wrk', ['-t1', `-c${CONCURRENCY}`, `-d${DURATION_S}s`, '-s', script, base], {
      encoding: 'utf8',
    });
    const [requests, errors, durationUs, p50Us, p99Us] = (out.match(/^RESULT (.*)$/m)?.[1] ?? '')
      .split(' ')
      .map(Number);
    if (errors > 0) throw new Error(`the events service answered ${errors} requests with errors:\n${out}`);
    const total = await produced();
    await waitFor(
      'the service consumer to catch up',
      async () =>
        (await (await fetch(`${base}/api/events/recent?limit=1&type=movie`)).json()).events.length > 0 &&
        Number(
          (await (await fetch(`${base}/metrics`)).text()).match(
            /^events_consumed_total\{type="movie"\} (\d+)/m,
          )?.[1] ?? 0,
        ) >= total,
      30_000,
    );
    const recent = (
      await (await fetch(`${base}/api/events/recent?limit=${total - before}&type=movie`)).json()
    ).events;
    return {
      name: `services/events, HTTP POST, ${CONCURRENCY} connections`,
      rate: requests / (durationUs / 1e6),
      latency: { p50: p50Us / 1000, p99: p99Us / 1000 },
      latencyKind: 'HTTP',
      e2e: summarize(recent.map((event) => event.produce_to_consume_ms)),
    };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

console.log(
  `bench/events: ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), node ${process.version}, broker ${BROKER}, ` +
    `${DURATION_S}s per contender, concurrency ${CONCURRENCY}, ${recordSize}-byte events, acks=all, idempotent`,
);
const results = [];
try {
  for (const contender of [
    producerPerformance,
    () => kafkajsProducer({ batchSize: 100 }),
    () => kafkajsProducer({ batchSize: 1 }),
    eventsService,
  ]) {
    const result = await contender();
    console.log(`  measured ${result.name}: ${Math.round(result.rate)} events/s`);
    results.push(result);
  }
} finally {
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(run));
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
}

const ceiling = results[0].rate;
const single = results[2].rate;
const ms = (value) => (Number.isFinite(value) ? value.toFixed(1) : '-');
const lines = [
  '| Producer | events/s | x perf-test | latency p50 / p99 (ms) | produce->consume p50 / p99 (ms) |',
  '| --- | ---: | ---: | --- | --- |',
  ...results.map(
    (r) =>
      `| ${r.name} | ${Math.round(r.rate)} | ${(r.rate / ceiling).toFixed(3)} | ${ms(r.latency.p50)} / ${ms(r.latency.p99)} (${r.latencyKind}) | ` +
      `${r.e2e ? `${ms(r.e2e.p50)} / ${ms(r.e2e.p99)}` : '-'} |`,
  ),
];
console.log(`\n${lines.join('\n')}\n`);
console.log(`services/events vs kafkajs one-per-send: ${(results[3].rate / single).toFixed(2)}x`);
console.log(`kafkajs one-per-send vs perf-test:       ${(single / ceiling).toFixed(3)}x`);
process.exit(0);
