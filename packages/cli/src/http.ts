/** An error meant for the person at the terminal: printed as one line, never with a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    /** 1: the gateway refused or a rollout failed, 2: bad command line, 3: the gateway could not be reached. */
    readonly exitCode: 1 | 2 | 3 = 1,
    /** The gateway's HTTP status, when it answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(`${message} (see --help)`, 2);

export interface Connection {
  gateway: string;
  token: string;
  timeoutMs: number;
}

export type Client = (method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown) => Promise<unknown>;

/** A JSON client for the admin API: bearer token, a bounded wait, and errors a person can act on. */
export function createClient({ gateway, token, timeoutMs }: Connection): Client {
  const base = gateway.replace(/\/+$/, '');
  return async (method, path, body) => {
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw unreachable(error, base, timeoutMs);
    }
    const json = parseJson(text);
    if (!response.ok) throw refused(response.status, method, path, json, text);
    if (json === undefined && text !== '')
      throw new CliError(
        `${base} answered ${method} ${path} with something other than JSON; is it the gateway?`,
      );
    return json;
  };
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function unreachable(error: unknown, gateway: string, timeoutMs: number): CliError {
  const name = (error as Error).name;
  if (name === 'TimeoutError' || name === 'AbortError')
    return new CliError(`no answer from the gateway at ${gateway} within ${timeoutMs} ms (--timeout)`, 3);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error as Error).message;
  return new CliError(
    `cannot reach the gateway at ${gateway} (${why}); is it running? Set --gateway or CINEMAABYSS_GATEWAY`,
    3,
  );
}

// The gateway answers every error as {"error": "..."}; its message is what the operator needs to see.
function refused(status: number, method: string, path: string, json: unknown, text: string): CliError {
  const given = (json as { error?: unknown } | undefined)?.error;
  const message =
    typeof given === 'string' ? given : text.trim().slice(0, 200) || `HTTP ${status} without a body`;
  const because =
    status === 401
      ? `the gateway refused the token (401: ${message}); check CINEMAABYSS_TOKEN or --token-file`
      : status === 403
        ? `this token may not do that (403: ${message})`
        : status === 404 && message.startsWith('Route ')
          ? `the gateway has no ${method} ${path} (404): is its admin API on (ADMIN_TOKEN or ADMIN_TOKENS_FILE) and recent enough?`
          : `${message} (${status})`;
  return new CliError(because, 1, status);
}
