import { type Database, foreignKeyViolation, int4Id, queryId, sendJsonArray } from '@cinemaabyss/postgres';
import { HttpError, legacyObject, parseInput } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

export interface Payment {
  id: number;
  user_id: number;
  amount: number;
  timestamp: string;
}

const MAX_AMOUNT = 9_999_999_999.99; // numeric(12, 2)

// Any amount the column holds, as the original took it: 0, negative (a refund), more than 2 decimals (the
// column rounds to cents, the original's did the same).
export const paymentInput = legacyObject({
  user_id: int4Id,
  amount: z
    .number({ error: 'must be a number' })
    .min(-MAX_AMOUNT, { error: `must be from -${MAX_AMOUNT} to ${MAX_AMOUNT}` })
    .max(MAX_AMOUNT, { error: `must be from -${MAX_AMOUNT} to ${MAX_AMOUNT}` }),
});

const idQuery = z.object({ id: queryId });
const userQuery = z.object({ user_id: queryId });

/** `?id=`, else `?user_id=`: beside an id, user_id is ignored (not even checked), as in the original. */
export function parseListQuery(query: unknown): { id?: number; user_id?: number } {
  const { id } = parseInput(idQuery, query, 'query');
  return id === undefined ? parseInput(userQuery, query, 'query') : { id };
}

interface PaymentRow {
  id: number;
  user_id: number;
  amount: string; // pg returns numeric as a string to keep its precision
  paid_at: Date;
}

export function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id,
    user_id: row.user_id,
    amount: Number(row.amount),
    timestamp: row.paid_at.toISOString(),
  };
}

export async function paymentRoutes(app: FastifyInstance, { db }: { db: Database }) {
  app.get('/api/payments', async (request, reply) => {
    const { id, user_id } = parseListQuery(request.query);
    if (id === undefined) {
      return sendJsonArray(reply, db, {
        text: `SELECT id, user_id, amount, paid_at FROM payments
                WHERE ($1::integer IS NULL OR user_id = $1) AND ($2::integer IS NULL OR id > $2)
                ORDER BY id LIMIT $3`,
        values: [user_id ?? null],
        toItem: toPayment,
      });
    }
    const { rows } = await db.query<PaymentRow>(
      'SELECT id, user_id, amount, paid_at FROM payments WHERE id = $1',
      [id],
    );
    if (!rows[0]) throw new HttpError(404, `payment ${id} not found`);
    return toPayment(rows[0]);
  });

  app.post('/api/payments', async (request, reply) => {
    const input = parseInput(paymentInput, request.body, 'body');
    try {
      const { rows } = await db.query<PaymentRow>(
        'INSERT INTO payments (user_id, amount) VALUES ($1, $2) RETURNING id, user_id, amount, paid_at',
        [input.user_id, input.amount],
      );
      return reply.code(201).send(toPayment(rows[0] as PaymentRow));
    } catch (error) {
      if (foreignKeyViolation(error) !== undefined) {
        throw new HttpError(400, `body.user_id: user ${input.user_id} does not exist`);
      }
      throw error;
    }
  });
}
