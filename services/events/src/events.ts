import { z } from 'zod';
import type { Config } from './config.js';

// Request bodies, as the contract's MovieEvent, UserEvent and PaymentEvent. The same schemas validate
// what the consumer reads back, so a message that would have been refused over HTTP is refused there too.
const id = z.number().int();
const dateTime = z.iso.datetime({ offset: true });

export const movieEventSchema = z.object({
  movie_id: id,
  title: z.string().min(1),
  action: z.string().min(1),
  user_id: id.optional(),
  rating: z.number().optional(),
  genres: z.array(z.string()).optional(),
  description: z.string().optional(),
});

export const userEventSchema = z.object({
  user_id: id,
  username: z.string().optional(),
  email: z.email().optional(),
  action: z.string().min(1),
  timestamp: dateTime,
});

export const paymentEventSchema = z.object({
  payment_id: id,
  user_id: id,
  amount: z.number(),
  status: z.string().min(1),
  timestamp: dateTime,
  method_type: z.string().optional(),
});

export const eventTypes = ['movie', 'user', 'payment'] as const;
export type EventType = (typeof eventTypes)[number];

export const payloadSchemas = {
  movie: movieEventSchema,
  user: userEventSchema,
  payment: paymentEventSchema,
} satisfies Record<EventType, z.ZodType>;

/** The entity whose events must stay in order: the partition key. */
export function entityKey(type: EventType, payload: Record<string, unknown>): string {
  const field = { movie: 'movie_id', user: 'user_id', payment: 'payment_id' }[type];
  return String(payload[field]);
}

/** The message on the wire: the contract's Event, its payload validated by the type's schema. */
export const envelopeSchema = z.object({
  id: z.string().min(1),
  type: z.enum(eventTypes),
  timestamp: dateTime,
  payload: z.record(z.string(), z.unknown()),
});

export type EventEnvelope = z.infer<typeof envelopeSchema>;

export function topicsFromConfig(config: Config): Record<EventType, string> {
  return {
    movie: config.MOVIE_EVENTS_TOPIC,
    user: config.USER_EVENTS_TOPIC,
    payment: config.PAYMENT_EVENTS_TOPIC,
  };
}

/**
 * Decodes and validates one consumed message. The topic decides the expected type, so an event of
 * one type written to another type's topic is rejected too. Returns the reason when it is invalid.
 */
export function decodeEvent(
  expected: EventType,
  value: Buffer | null,
): { ok: true; event: EventEnvelope } | { ok: false; reason: string } {
  if (value === null) return { ok: false, reason: 'empty message' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return { ok: false, reason: describe(envelope.error) };
  if (envelope.data.type !== expected) {
    return { ok: false, reason: `type "${envelope.data.type}" on the ${expected} topic` };
  }
  const payload = payloadSchemas[expected].safeParse(envelope.data.payload);
  if (!payload.success) return { ok: false, reason: describe(payload.error, 'payload') };
  return { ok: true, event: envelope.data };
}

function describe(error: z.ZodError, prefix?: string): string {
  return error.issues
    .map(
      (issue) =>
        `${[prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${issue.message}`,
    )
    .join('; ');
}
