import { type Database, foreignKeyViolation, int4Id, pgText, sendJsonArray } from '@cinemaabyss/postgres';
import { HttpError, legacyObject, parseInput } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { parseListQuery } from './payments.js';
import { epochToIso, instant, isBefore } from './rfc3339.js';

export interface Subscription {
  id: number;
  user_id: number;
  plan_type: string;
  start_date: string;
  end_date: string;
}

// Sizes are the original schema's columns: plan_type varchar(50).
export const subscriptionInput = legacyObject({
  user_id: int4Id,
  plan_type: pgText(50),
  start_date: instant,
  end_date: instant,
}).refine(({ start_date, end_date }) => !isBefore(end_date, start_date), {
  path: ['end_date'],
  error: 'must not be before start_date',
});

interface SubscriptionRow {
  id: number;
  user_id: number;
  plan_type: string;
  start_date: string;
  end_date: string;
}

export function toSubscription(row: SubscriptionRow): Subscription {
  return { ...row, start_date: epochToIso(row.start_date), end_date: epochToIso(row.end_date) };
}

const columns = `id, user_id, plan_type,
  extract(epoch FROM start_date)::text AS start_date, extract(epoch FROM end_date)::text AS end_date`;

export async function subscriptionRoutes(app: FastifyInstance, { db }: { db: Database }) {
  app.get('/api/subscriptions', async (request, reply) => {
    const { id, user_id } = parseListQuery(request.query);
    if (id === undefined) {
      return sendJsonArray(reply, db, {
        text: `SELECT ${columns} FROM subscriptions
                WHERE ($1::integer IS NULL OR user_id = $1) AND ($2::integer IS NULL OR id > $2)
                ORDER BY id LIMIT $3`,
        values: [user_id ?? null],
        toItem: toSubscription,
      });
    }
    const { rows } = await db.query<SubscriptionRow>(`SELECT ${columns} FROM subscriptions WHERE id = $1`, [
      id,
    ]);
    if (!rows[0]) throw new HttpError(404, `subscription ${id} not found`);
    return toSubscription(rows[0]);
  });

  app.post('/api/subscriptions', async (request, reply) => {
    const input = parseInput(subscriptionInput, request.body, 'body');
    try {
      const { rows } = await db.query<SubscriptionRow>(
        `INSERT INTO subscriptions (user_id, plan_type, start_date, end_date) VALUES ($1, $2, $3, $4)
         RETURNING ${columns}`,
        [input.user_id, input.plan_type, input.start_date.sql, input.end_date.sql],
      );
      return reply.code(201).send(toSubscription(rows[0] as SubscriptionRow));
    } catch (error) {
      if (foreignKeyViolation(error) !== undefined) {
        throw new HttpError(400, `body.user_id: user ${input.user_id} does not exist`);
      }
      throw error;
    }
  });
}
