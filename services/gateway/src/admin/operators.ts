import { createHash } from 'node:crypto';

export const ROLES = ['operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
/** Who is calling the admin API, from the bearer token alone. */
export interface Operator {
  name: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller of an admin route, set once its token is known (undefined elsewhere). */
    operator: Operator | undefined;
  }
}

export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** Operators by the sha256 (hex) of their token: the gateway never holds the tokens of a file. */
export type OperatorTable = ReadonlyMap<string, Operator>;

/** `ADMIN_TOKEN` is the operator `admin`. */
export const ADMIN = { name: 'admin', role: 'operator' } as const satisfies Operator;

/**
 * The operator a bearer token belongs to. The lookup is by the token's digest, so its timing depends
 * only on a hash of what the caller sent, never on how much of a real token it guessed.
 */
export const identify = (table: OperatorTable, token: string): Operator | undefined =>
  table.get(sha256Hex(token));
