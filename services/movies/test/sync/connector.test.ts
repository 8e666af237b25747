import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeConnector } from '../../src/sync/status/connector.js';

// A stand-in for Kafka Connect's REST API (its answers as documented), and a port nobody listens on.
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function connect(answer: (request: IncomingMessage) => { status: number; body?: unknown } | undefined) {
  const requests: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    requests.push(request);
    const reply = answer(request);
    if (!reply) return; // never answers
    response.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const status = (connector: string, ...tasks: [string, string?][]) => ({
  status: 200,
  body: {
    name: 'cinemaabyss-movies',
    connector: { state: connector, worker_id: '127.0.0.1:8083' },
    tasks: tasks.map(([state, trace], id) => ({
      id,
      state,
      worker_id: '127.0.0.1:8083',
      ...(trace && { trace }),
    })),
    type: 'source',
  },
});

describe('probeConnector', () => {
  it('reads the state of the named connector, its tasks folded in', async () => {
    const { url, requests } = await connect(() => status('RUNNING', ['RUNNING']));
    expect(await probeConnector(url, 'cinemaabyss-movies', 1_000)).toEqual({ state: 'RUNNING' });
    expect(requests[0]?.url).toBe('/connectors/cinemaabyss-movies/status');
  });

  it.each([
    [status('PAUSED', ['PAUSED']), 'PAUSED'],
    [
      status('RUNNING', ['FAILED', 'org.apache.kafka.connect.errors.ConnectException: boom\n\tat x']),
      'FAILED',
    ],
    [status('RUNNING'), 'UNASSIGNED'],
    [status('SOMETHING_NEW', ['RUNNING']), 'UNKNOWN'],
    [{ status: 404, body: { error_code: 404, message: 'No status found for connector' } }, 'UNKNOWN'],
    [{ status: 500, body: { error_code: 500 } }, 'UNKNOWN'],
    [{ status: 200, body: { unexpected: true } }, 'UNKNOWN'],
  ])('answers %j as %s, saying why', async (answer, state) => {
    const { url } = await connect(() => answer);
    const probe = await probeConnector(url, 'cinemaabyss-movies', 1_000);
    expect(probe.state).toBe(state);
    expect(probe.reason).toBeTruthy();
  });

  it('names the failed task and its first trace line', async () => {
    const { url } = await connect(() =>
      status('RUNNING', ['FAILED', 'ConnectException: slot gone\n\tat a.b']),
    );
    expect(await probeConnector(url, 'x', 1_000)).toEqual({
      state: 'FAILED',
      reason: 'task 0 FAILED: ConnectException: slot gone',
    });
  });

  it('is UNKNOWN when Connect is not there, or does not answer within the timeout', async () => {
    const closed = await connect(() => status('RUNNING', ['RUNNING']));
    servers.pop()?.close();
    expect((await probeConnector(closed.url, 'x', 1_000)).state).toBe('UNKNOWN');
    const silent = await connect(() => undefined);
    expect(await probeConnector(silent.url, 'x', 200)).toEqual({
      state: 'UNKNOWN',
      reason: 'no answer within 200 ms',
    });
  });

  it('sends credentials given in the URL as a Basic header, never in the request line', async () => {
    const { url, requests } = await connect(() => status('RUNNING', ['RUNNING']));
    const withCredentials = url.replace('http://', 'http://operator:s%3Acret@');
    expect((await probeConnector(`${withCredentials}/`, 'cinemaabyss-movies', 1_000)).state).toBe('RUNNING');
    expect(requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('operator:s:cret').toString('base64')}`,
    );
    expect(requests[0]?.url).toBe('/connectors/cinemaabyss-movies/status');
  });
});
