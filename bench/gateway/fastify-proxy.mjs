// The floor for our gateway: bare Fastify + @fastify/http-proxy with the percent hard-coded.
// LIKE_GATEWAY=1 gives it the gateway's response handling and nothing else of the gateway: the upstream's
// headers copied into a fresh object without `connection` and `keep-alive`, and a body with a known length
// of at most 16 KiB read whole before it is sent. Against that, what differs is the gateway's own work: the
// flag, forwarding headers, request id and metrics.
import httpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const { PORT, MONOLITH_URL, MOVIES_SERVICE_URL, PERCENT, LIKE_GATEWAY } = process.env;
const percent = Number(PERCENT);
const likeGateway = {
  rewriteHeaders(headers) {
    const kept = {};
    for (const name in headers)
      if (name !== 'connection' && name !== 'keep-alive') kept[name] = headers[name];
    return kept;
  },
  onResponse(request, reply, res) {
    const length = Number(reply.getHeader('content-length'));
    if (
      !(length <= 16 * 1024) ||
      request.method === 'HEAD' ||
      reply.getHeader('content-type') === undefined
    ) {
      reply.send(res.stream);
      return;
    }
    const chunks = [];
    res.stream.on('data', (chunk) => chunks.push(chunk));
    res.stream.on('end', () => reply.send(Buffer.concat(chunks)));
  },
};
const replyOptions = LIKE_GATEWAY === '1' ? likeGateway : {};
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
