import { inspect } from 'node:util';
import { ConfigError } from './config.js';

/**
 * A start-up failure that is the operator's to fix (a dependency that never came up, say): the process
 * exits with this message only, like a ConfigError, because a stack trace would add nothing.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}

/**
 * What a service prints when it cannot start, naming the step that failed and why. A ConfigError or
 * StartupError is already written for an operator and stands alone; anything else is a bug or an unexpected
 * failure, so its description comes first and the stack frames after it. Never empty, whatever was thrown:
 * Fastify hands over as the "error" whatever a hook rejects or resolves with, arrays and empty errors included.
 */
export function startFailureMessage(step: string, error: unknown): string {
  if (error instanceof ConfigError || error instanceof StartupError) return error.message;
  const frames =
    error instanceof Error ? (error.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)) : [];
  let message = `Failed to start: ${step} failed: ${describeError(error)}`;
  if (!(error instanceof Error)) {
    message +=
      ' (a value that is not an Error was thrown or rejected; Fastify also takes whatever an onReady hook' +
      ' or plugin resolves with as its error, so such a hook must resolve to nothing)';
  }
  return [message, ...frames].join('\n');
}

/** One line for any thrown value: name, message, code, the inner errors of an AggregateError, the cause. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return inspect(error, { depth: 3, breakLength: Number.POSITIVE_INFINITY });
  const code = (error as { code?: unknown }).code;
  let text = error.message ? `${error.name}: ${error.message}` : `${error.name} without a message`;
  if (typeof code === 'string' && !error.message.includes(code)) text += ` (${code})`;
  if (error instanceof AggregateError && error.errors.length > 0) {
    text += ` [${error.errors.map(describeError).join('; ')}]`;
  }
  if (error.cause !== undefined) text += `, caused by ${describeError(error.cause)}`;
  return text;
}
