import { type RolloutPlan, rolloutPlanSchema } from '@cinemaabyss/admin-contract';
import { parseInput } from '@cinemaabyss/service-kit';

/** The plan of a rollout: its schema and defaults are the admin contract's (POST …/rollout declares it). */
export type { RolloutPlan };

/** Validates a plan; throws a 400 HttpError naming each bad field (`body.steps: ...`). */
export const parsePlan = (body: unknown): RolloutPlan => parseInput(rolloutPlanSchema, body, 'body');
