import { connect, createServer, type Server, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { call, testConfig } from './helpers.js';

// A TCP relay to the real PostgreSQL that the test can cut, standing in for a database that goes away
// while the service runs.
const upstream = new URL(testConfig().DATABASE_URL);
const sockets = new Set<Socket>();
let relay: Server;
let app: FastifyInstance;

function cutTheDatabase() {
  relay.close();
  for (const socket of sockets) socket.destroy();
}

beforeAll(async () => {
  relay = createServer((client) => {
    const server = connect(Number(upstream.port || 5432), upstream.hostname);
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(server).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const address = relay.address();
  if (address === null || typeof address === 'string') throw new Error('relay has no port');
  const relayed = new URL(upstream);
  relayed.hostname = '127.0.0.1';
  relayed.port = String(address.port);
  app = await buildApp(testConfig({ DATABASE_URL: relayed.toString(), DB_CONNECT_ATTEMPTS: '1' }));
  await app.ready();
});

afterAll(async () => {
  cutTheDatabase();
  await app.close();
});

describe('a database that goes away while the service runs', () => {
  it('turns into 503s that say so, while liveness stays up, instead of 500s or a crash', async () => {
    expect((await call(app, 'GET', '/api/users')).statusCode).toBe(200);
    cutTheDatabase();

    for (const path of ['/api/users', '/api/movies', '/api/payments?user_id=1', '/api/subscriptions']) {
      const res = await call(app, 'GET', path);
      expect(res.statusCode, path).toBe(503);
      expect(res.json(), path).toEqual({ error: 'database unavailable' });
    }
    const create = await call(app, 'POST', '/api/movies', { title: 't', description: 'd', rating: 1 });
    expect(create.statusCode).toBe(503);

    const ready = await call(app, 'GET', '/ready');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      status: false,
      error: expect.stringMatching(/^database 127\.0\.0\.1:\d+\/\w+ unreachable$/),
    });
    expect((await call(app, 'GET', '/health')).json()).toEqual({ status: true });

    // Four GETs, the POST and the readiness probe found no database.
    const metrics = (await call(app, 'GET', '/metrics')).body;
    expect(metrics).toContain('\nmonolith_db_query_errors_total{cause="unavailable"} 6\n');
    expect(metrics).toContain(
      '\nmonolith_requests_total{route="/api/users",method="GET",status_class="5xx"} 1\n',
    );
  });
});
