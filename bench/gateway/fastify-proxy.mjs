// The floor for our gateway: bare Fastify + @fastify/http-proxy with the percent hard-coded.
// HOP_BY_HOP=drop makes it copy the upstream's response headers into a fresh object without `connection`
// and `keep-alive`, as the gateway does, to show what that handling alone is worth.
import httpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const { PORT, MONOLITH_URL, MOVIES_SERVICE_URL, PERCENT, HOP_BY_HOP } = process.env;
const percent = Number(PERCENT);
const dropHopByHop = (headers) => {
  const kept = {};
  for (const name in headers) if (name !== 'connection' && name !== 'keep-alive') kept[name] = headers[name];
  return kept;
};
const replyOptions = HOP_BY_HOP === 'drop' ? { rewriteHeaders: dropHopByHop } : {};
const app = Fastify({ logger: false });
await app.register(httpProxy, {
  prefix: '/api/movies',
  rewritePrefix: '/api/movies',
  upstream: '',
  replyOptions: {
    ...replyOptions,
    getUpstream: () => (Math.random() * 100 < percent ? MOVIES_SERVICE_URL : MONOLITH_URL),
  },
});
await app.register(httpProxy, {
  prefix: '/api',
  rewritePrefix: '/api',
  upstream: MONOLITH_URL,
  replyOptions,
});
await app.listen({ port: Number(PORT), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
