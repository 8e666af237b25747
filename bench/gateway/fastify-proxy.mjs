// The floor for our gateway: bare Fastify + @fastify/http-proxy with the percent hard-coded.
import httpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const { PORT, MONOLITH_URL, MOVIES_SERVICE_URL, PERCENT } = process.env;
const percent = Number(PERCENT);
const app = Fastify({ logger: false });
await app.register(httpProxy, {
  prefix: '/api/movies',
  rewritePrefix: '/api/movies',
  upstream: '',
  replyOptions: { getUpstream: () => (Math.random() * 100 < percent ? MOVIES_SERVICE_URL : MONOLITH_URL) },
});
await app.register(httpProxy, { prefix: '/api', rewritePrefix: '/api', upstream: MONOLITH_URL });
await app.listen({ port: Number(PORT), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
