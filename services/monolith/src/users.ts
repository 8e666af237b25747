import { type Database, pgText, queryId, sendJsonArray, uniqueViolation } from '@cinemaabyss/postgres';
import { HttpError, legacyObject, parseInput } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

export interface User {
  id: number;
  username: string;
  email: string;
}

// The original schema's column sizes; the email is not checked beyond its size, as the original never
// checked it (internationalized, quoted and @localhost addresses were all accepted).
export const userInput = legacyObject({ username: pgText(100), email: pgText(255) });

const userQuery = z.object({ id: queryId });

// Which field a unique index guards, for the 409 message.
const uniqueFields: Record<string, keyof z.infer<typeof userInput>> = {
  users_username_key: 'username',
  users_email_key: 'email',
};

export async function userRoutes(app: FastifyInstance, { db }: { db: Database }) {
  app.get('/api/users', async (request, reply) => {
    const { id } = parseInput(userQuery, request.query, 'query');
    if (id === undefined)
      return sendJsonArray(reply, db, {
        text: 'SELECT id, username, email FROM users WHERE $1::integer IS NULL OR id > $1 ORDER BY id LIMIT $2',
      });
    const { rows } = await db.query<User>('SELECT id, username, email FROM users WHERE id = $1', [id]);
    if (!rows[0]) throw new HttpError(404, `user ${id} not found`);
    return rows[0];
  });

  app.post('/api/users', async (request, reply) => {
    const input = parseInput(userInput, request.body, 'body');
    try {
      const { rows } = await db.query<User>(
        'INSERT INTO users (username, email) VALUES ($1, $2) RETURNING id, username, email',
        [input.username, input.email],
      );
      return reply.code(201).send(rows[0]);
    } catch (error) {
      // The unique indexes decide (exact, case-sensitive, as the original's were), not a racy look-up.
      const constraint = uniqueViolation(error);
      const field = constraint === undefined ? undefined : uniqueFields[constraint];
      if (field) throw new HttpError(409, `body.${field}: "${input[field]}" is already taken`);
      throw error;
    }
  });
}
