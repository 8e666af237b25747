import { z } from 'zod';

/** Thrown when the environment does not satisfy a service's schema; the message is meant for a person. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses the environment once at start-up. Every problem is reported at once, each naming the
 * variable, what was wrong and the value that was given, so an operator can fix it in one go.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const given = env[name];
    const shown = given === undefined ? 'not set' : `got ${JSON.stringify(given)}`;
    return `  ${name}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}

/** Env booleans as operators write them: true/false, 1/0, yes/no, on/off. */
export const envBoolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], {
    error: 'must be true or false',
  })
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

/** A TCP port given as a string in the environment. */
export const envPort = z.coerce.number().int().min(1).max(65535);

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');
