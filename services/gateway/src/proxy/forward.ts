import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RawServerBase,
  RouteGenericInterface,
} from 'fastify';
import type { Agent } from 'undici';
import type { FlagStore } from '../flags/store.js';
import type { SideStats } from '../rollout/side-stats.js';
import { type Decision, decide, fallbackDecision, planRoute, type RoutePlan } from '../routing/decide.js';
import type { Policy } from '../routing/policy.js';
import { captureBody } from '../shadow/capture.js';
import type { Shadower, ShadowRun } from '../shadow/shadower.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { BodyBudget } from './body-budget.js';
import { bodyTooLarge } from './edge.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The route of the policy this request took, and the upstream chosen (unset for the gateway's own routes). */
    routePlan: RoutePlan | undefined;
    upstreamName: string;
    /** Where the routing decision sent this request and why (undefined for the gateway's own routes). */
    decision: Decision | undefined;
    /** The shadow copy of this request, when it was sampled (docs/gateway.md, Shadow traffic). */
    shadowRun: ShadowRun | undefined;
  }
}

// Request headers that are not forwarded: hop-by-hop ones (RFC 9110 §7.6.1; reply-from already drops
// `connection` and the headers it names), `expect` (answered by the gateway, and undici refuses it) and
// a client's `x-upstream`, which only the gateway may set.
const NOT_FORWARDED = new Set([
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'expect',
  'x-upstream',
]);
const HOP_BY_HOP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
// Errors meaning the request never reached the upstream, so retrying it elsewhere cannot repeat it.
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TIMED_OUT = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'FST_REPLY_FROM_GATEWAY_TIMEOUT',
  'FST_REPLY_FROM_TIMEOUT',
]);

// Responses with a known length up to this many bytes are read whole and sent in one write, as nginx's
// proxy_buffering does; larger ones, and those of unknown length, stream.
const BUFFERED_RESPONSE_LIMIT = 16 * 1024;

type ReplyOptions = NonNullable<FastifyHttpProxyOptions['replyOptions']>;
type AnyRequest = FastifyRequest<RouteGenericInterface, RawServerBase>;
type AnyReply = FastifyReply<RouteGenericInterface, RawServerBase>;
type UpstreamError = Error & { code?: string; cause?: { code?: string } };

interface ProxyDeps {
  policy: Policy;
  flags: FlagStore;
  metrics: Metrics;
  agent: Agent;
  /** Per-side counts of the migrating routes, for progressive rollouts. */
  sideStats: SideStats;
  /** The most a request body may hold (GATEWAY_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** The total of bodies buffered at once (GATEWAY_MAX_BUFFERED_BYTES). */
  bodyBudget: BodyBudget;
  /** True once SIGTERM arrived and the gateway is draining. */
  isShuttingDown: () => boolean;
  shadow: { shadower: Shadower; maxBodyBytes: number };
}

/** Registers one @fastify/http-proxy per route of the table, all sharing one undici agent. */
export async function registerProxies(app: FastifyInstance, deps: ProxyDeps): Promise<void> {
  app.decorateRequest('routePlan', undefined);
  app.decorateRequest('upstreamName', '');
  app.decorateRequest('decision', undefined);
  app.decorateRequest('shadowRun', undefined);
  // Callback-style hook: no promise per request on the hot path.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routePlan;
    if (route !== undefined) {
      const seconds = reply.elapsedTime / 1000;
      deps.metrics.record(route, request.upstreamName, reply.statusCode, seconds);
      // A rollout compares the sides under the same traffic: only the percent's random split, and the
      // fallbacks away from the new side (counted there, as errors).
      const reason = request.decision?.reason;
      const migration = route.migration;
      if (migration !== undefined && (reason === 'percent' || reason === 'fallback'))
        deps.sideStats.record(
          migration.flag,
          request.decision!.toNew ? 'new' : 'old',
          reply.statusCode,
          seconds,
          reason === 'fallback',
        );
    }
    done();
  });
  for (const path of deps.policy.internal) app.all(path, (_request, reply) => reply.callNotFound());
  await app.register(async (proxies) => {
    // Before the body is read: a body that does not fit is never buffered.
    proxies.addHook('onRequest', deps.bodyBudget.hook());
    bufferRequestBodies(proxies, deps.maxBodyBytes);
    for (const route of deps.policy.routes)
      await proxies.register(httpProxy, proxyOptions(planRoute(deps.policy, route), deps));
  });
}

/**
 * Request bodies are read whole (up to the body limit) before the upstream is called, as nginx's
 * proxy_request_buffering does. Streamed, an upstream that answers early (a 413 from a smaller limit) and
 * closes made undici fail the next write before it read that answer, and the client got 502 for a 413.
 * Any content type, unparsed: `sendBody` hands the bytes on as they came.
 */
function bufferRequestBodies(proxies: FastifyInstance, maxBodyBytes: number): void {
  proxies.removeAllContentTypeParsers();
  proxies.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  // A chunked body has no Content-Length for edgeChecks: Fastify counts it while reading, and it gets the
  // same 413. Any other error goes on to the app's handler.
  proxies.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw error;
    reply.code(413).send(bodyTooLarge(maxBodyBytes));
  });
}

function proxyOptions(
  route: RoutePlan,
  { policy, flags, metrics, agent, isShuttingDown, shadow }: ProxyDeps,
): FastifyHttpProxyOptions {
  const { prefix, migration } = route;
  const urls = policy.upstreams;
  const origins = migration && {
    old: new URL(urls[route.upstream]!).origin,
    new: new URL(urls[migration.to]!).origin,
  };

  const pickUpstream = (request: AnyRequest): string => {
    const decision = decide(route, migration && flags.get(migration.flag), request.method, request.headers);
    request.routePlan = route;
    request.upstreamName = decision.upstream;
    request.decision = decision;
    if (migration) metrics.decided(migration.flag, decision);
    return urls[decision.upstream]!;
  };

  // The upstream's headers are copied into the reply one by one, so copying only the end-to-end ones into
  // a fresh object costs no more, and keeps the object fast where `delete` would not (every Node upstream
  // sends `connection` and `keep-alive`).
  const rewriteHeaders = (headers: IncomingHttpHeaders, request?: AnyRequest) => {
    const rewritten: IncomingHttpHeaders = {};
    for (const name in headers) if (!HOP_BY_HOP_RESPONSE.has(name)) rewritten[name] = headers[name];
    if (request) {
      rewritten['x-upstream'] = request.upstreamName;
      rewritten['x-request-id'] = request.id;
      // While draining, ask keep-alive clients to reconnect (to another replica) after this response.
      if (isShuttingDown()) rewritten.connection = 'close';
    }
    return rewritten;
  };

  // Here rather than in pickUpstream: the copy carries the headers as forwarded. Never for a fallback.
  const forwardHeaders = (request: AnyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders => {
    const forwarded = rewriteRequestHeaders(request, headers);
    const decision = request.decision;
    const settings = migration && flags.get(migration.flag)?.shadow;
    if (settings && settings.percent > 0 && decision && decision.reason !== 'fallback' && origins) {
      request.shadowRun = shadow.shadower.begin({
        flag: migration.flag,
        settings,
        method: request.method,
        url: request.url,
        headers: forwarded,
        userId: firstValue(headers[migration.stickiness]),
        chosenOrigin: decision.toNew ? origins.new : origins.old,
        otherOrigin: decision.toNew ? origins.old : origins.new,
        chosenIsNew: decision.toNew,
      });
    }
    return forwarded;
  };

  const replyOptions: ReplyOptions = {
    getUpstream: pickUpstream,
    onResponse: (request, reply, res) => sendResponse(request, reply, res, shadow.maxBodyBytes),
    rewriteRequestHeaders: forwardHeaders,
    rewriteHeaders,
    // reply-from retries GETs answered 503 up to 10 times by default: more load on a struggling service.
    retryDelay: () => null,
    onError(reply, { error: cause }) {
      const error = cause as UpstreamError;
      const request = reply.request;
      request.shadowRun?.abandon();
      const code = error.cause?.code ?? error.code ?? '';
      const safeToRetry = request.method === 'GET' || request.method === 'HEAD';
      if (migration && request.upstreamName === migration.to && safeToRetry && NOT_CONNECTED.has(code)) {
        // Safety net: the new service cannot even be connected to, so the old one answers instead.
        metrics.fallback(route, migration.to, route.upstream);
        request.log.warn(
          { from: migration.to, to: route.upstream, code },
          'new upstream unreachable, falling back',
        );
        request.upstreamName = route.upstream;
        request.decision = fallbackDecision(route);
        metrics.decided(migration.flag, request.decision);
        reply.from(undefined, {
          ...replyOptions,
          getUpstream: () => urls[route.upstream]!,
          onError: (r, e) => fail(r, e.error as UpstreamError),
        });
        return;
      }
      fail(reply, error);
    },
  };

  return {
    prefix,
    rewritePrefix: prefix,
    upstream: '',
    undici: agent,
    disableRequestLogging: true,
    // Bodies arrive read whole (bufferRequestBodies).
    proxyPayloads: false,
    handler: sendBody,
    replyOptions,
  };
}

/**
 * A body read whole goes on as given, with the client's Content-Type; left to itself reply-from would
 * re-encode a Buffer labelled application/json as JSON, and relabel any other with its bare media type.
 * Without a Content-Type it is labelled application/octet-stream, which RFC 9110 §8.3 lets a recipient
 * assume anyway.
 */
function sendBody(request: AnyRequest, reply: AnyReply, dest: string, options: ReplyOptions) {
  const body = request.body;
  if (!Buffer.isBuffer(body)) return reply.from(dest, options);
  const contentType = request.headers['content-type'] ?? 'application/octet-stream';
  return reply.from(dest, { ...options, body, contentType });
}

// Hot path. The headers go into a fresh object rather than onto the copy reply-from made: adding
// properties to that copy gives every request its own hidden class in V8, which made each added header
// cost about 5 µs of CPU downstream (measured with bench/gateway; a fresh literal shares its shapes).
function rewriteRequestHeaders(request: AnyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const forwarded: IncomingHttpHeaders = {};
  for (const name in headers) if (!NOT_FORWARDED.has(name)) forwarded[name] = headers[name];
  // `ips` exists only with TRUST_PROXY: the socket address and the trusted hops' X-Forwarded-For entries,
  // nearest first, ending with the first untrusted one. Without it the socket address replaces the header.
  const chain = request.ips;
  forwarded['x-forwarded-for'] = chain ? chain.reverse().join(', ') : request.ip;
  forwarded['x-forwarded-proto'] = request.protocol;
  if (request.host) forwarded['x-forwarded-host'] = request.host;
  forwarded['x-request-id'] = request.id;
  return forwarded;
}

// Piping a small body through a stream cost the gateway about a fifth of its throughput (bench/gateway),
// so small bodies are read whole first. An upstream that dies mid-body then gets a clean 502, not a
// truncated 200. HEAD, 204 and 304 have no body; without a content type Fastify would label a Buffer
// application/octet-stream, so those stream too.
// A shadowed request's chosen answer goes to its run after the client's reply has been handed over.
function sendResponse(
  request: AnyRequest,
  reply: AnyReply,
  res: { stream: Readable },
  shadowMaxBody: number,
): void {
  const run = request.shadowRun;
  // Taken before the reply is sent: the answer as the client gets it, less its body.
  const chosen = run && {
    status: reply.statusCode,
    contentType: headerText(reply.getHeader('content-type')),
    contentEncoding: headerText(reply.getHeader('content-encoding')),
  };
  if (reply.sent) {
    // reply-from already answered 502 (the upstream sent an invalid status code): free the connection.
    res.stream.destroy();
    run?.abandon();
    return;
  }
  const length = Number(reply.getHeader('content-length'));
  const bodiless = request.method === 'HEAD' || reply.statusCode === 204 || reply.statusCode === 304;
  if (!(length <= BUFFERED_RESPONSE_LIMIT) || bodiless || reply.getHeader('content-type') === undefined) {
    const captured = run && !bodiless ? captureBody(res.stream, shadowMaxBody) : undefined;
    reply.send(res.stream);
    if (run && !captured) run.chosen({ ...chosen!, body: Buffer.alloc(0) });
    void captured?.then((body) => {
      if (body === 'error') run!.abandon();
      else run!.chosen(body === 'skipped' ? body : { ...chosen!, body });
    });
    return;
  }
  const chunks: Buffer[] = [];
  // A client that leaves while the body is read must not keep the upstream connection busy.
  reply.raw.once('close', () => {
    res.stream.destroy();
    run?.abandon();
  });
  res.stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.stream.on('end', () => {
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    reply.send(body);
    run?.chosen({ ...chosen!, body });
  });
  res.stream.on('error', (error: UpstreamError) => {
    run?.abandon();
    if (!reply.raw.destroyed) fail(reply, error);
  });
}

const headerText = (value: ReturnType<AnyReply['getHeader']>) =>
  value === undefined ? undefined : String(Array.isArray(value) ? value[0] : value);
const firstValue = (value: string | string[] | undefined) => (typeof value === 'string' ? value : value?.[0]);

/**
 * Answers 502, or 504 when the upstream timed out, with a JSON error naming the upstream. Headers already
 * copied from the upstream's answer are dropped; a drain's `Connection: close` stays.
 */
function fail(reply: AnyReply, error: UpstreamError): void {
  const code = error.cause?.code ?? error.code ?? '';
  const upstream = reply.request.upstreamName;
  const timedOut = TIMED_OUT.has(code);
  reply.request.log.warn({ err: error, upstream, code }, 'upstream request failed');
  for (const name of Object.keys(reply.getHeaders())) if (name !== 'connection') reply.removeHeader(name);
  reply
    .code(timedOut ? 504 : 502)
    .header('x-upstream', upstream)
    .header('x-request-id', reply.request.id)
    .send({ error: timedOut ? `upstream ${upstream} timed out` : `upstream ${upstream} is unavailable` });
}
