import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

// A path the router and an upstream could read differently: empty, `.` or `..` segments (also
// percent-encoded), backslashes, encoded slashes and NUL. `/api/%2e/movies` would otherwise reach the
// monolith through the `/api` route, past the migration flag of `/api/movies`.
const AMBIGUOUS_PATH = /\/\/|\\|%(?:2f|5c|00)|\/(?:\.|%2e){1,2}(?:\/|$)/i;

/** The 413's body, for a Content-Length over the limit here and for a chunked body counted while read. */
export const bodyTooLarge = (maxBodyBytes: number) => ({
  error: `request body is larger than ${maxBodyBytes} bytes`,
});

/**
 * Refuses, before a route is chosen, what the gateway must not pass on: a path that is not in normal
 * form (400) and a body whose Content-Length is over the limit (413). Callback-style: no promise per
 * request on the hot path.
 */
export function edgeChecks(maxBodyBytes: number) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const url = request.url;
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (AMBIGUOUS_PATH.test(path)) {
      reply.code(400).send({
        error: `path ${JSON.stringify(path.slice(0, 200))} is not in normal form: no empty, "." or ".." segments, no backslash, no encoded "/", "\\" or NUL`,
      });
      return;
    }
    if (Number(request.headers['content-length']) > maxBodyBytes) {
      // After `Expect: 100-continue` the body was never sent: close. Otherwise it is on its way, and closing
      // now would reset the connection before the client reads the 413 (EPIPE in curl). Node discards the
      // unread body after the answer instead, as nginx's lingering close does; requestTimeout bounds it.
      if (request.headers.expect !== undefined) reply.header('connection', 'close');
      reply.code(413).send(bodyTooLarge(maxBodyBytes));
      return;
    }
    done();
  };
}

/**
 * `Expect: 100-continue` answered here rather than by Node's default: a body that is too large gets its
 * 413 (from `edgeChecks`) before the client sends it; any other request gets `100 Continue` at once.
 */
export function continueUnlessTooLarge(server: Server, maxBodyBytes: number) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    if (!(Number(request.headers['content-length']) > maxBodyBytes)) response.writeContinue();
    server.emit('request', request, response);
  };
}
