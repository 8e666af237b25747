import { type Database, foreignKeyViolation, int4Id, pgText } from '@cinemaabyss/postgres';
import { HttpError, parseInput } from '@cinemaabyss/service-kit';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { byUserQuery } from './payments.js';

export interface Subscription {
  id: number;
  user_id: number;
  plan_type: string;
  start_date: string;
  end_date: string;
}

const dateTime = z.iso
  .datetime({
    offset: true,
    error: 'must be an ISO 8601 date-time with a time zone, e.g. 2023-01-01T00:00:00Z',
  })
  .refine(
    (value) => {
      const year = new Date(value).getUTCFullYear();
      return year >= 1970 && year <= 9999;
    },
    { error: 'must be between 1970 and 9999' },
  );

export const subscriptionInput = z
  .object({ user_id: int4Id, plan_type: pgText(50), start_date: dateTime, end_date: dateTime })
  .refine(({ start_date, end_date }) => Date.parse(end_date) > Date.parse(start_date), {
    path: ['end_date'],
    error: 'must be after start_date',
  });

interface SubscriptionRow {
  id: number;
  user_id: number;
  plan_type: string;
  start_date: Date;
  end_date: Date;
}

export function toSubscription(row: SubscriptionRow): Subscription {
  return { ...row, start_date: row.start_date.toISOString(), end_date: row.end_date.toISOString() };
}

const columns = 'id, user_id, plan_type, start_date, end_date';

export async function subscriptionRoutes(app: FastifyInstance, { db }: { db: Database }) {
  app.get('/api/subscriptions', async (request) => {
    const { id, user_id } = parseInput(byUserQuery, request.query, 'query');
    const { rows } = await db.query<SubscriptionRow>(
      `SELECT ${columns} FROM subscriptions
        WHERE ($1::integer IS NULL OR id = $1) AND ($2::integer IS NULL OR user_id = $2)
        ORDER BY id`,
      [id ?? null, user_id ?? null],
    );
    if (id === undefined) return rows.map(toSubscription);
    if (!rows[0]) throw new HttpError(404, `subscription ${id} not found`);
    return toSubscription(rows[0]);
  });

  app.post('/api/subscriptions', async (request, reply) => {
    const input = parseInput(subscriptionInput, request.body, 'body');
    try {
      const { rows } = await db.query<SubscriptionRow>(
        `INSERT INTO subscriptions (user_id, plan_type, start_date, end_date) VALUES ($1, $2, $3, $4)
         RETURNING ${columns}`,
        [input.user_id, input.plan_type, input.start_date, input.end_date],
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
