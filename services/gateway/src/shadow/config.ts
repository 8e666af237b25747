import { z } from 'zod';

const positive = (unit: string) =>
  z.coerce
    .number({ error: `must be a whole number of ${unit}` })
    .int(`must be a whole number of ${unit}`)
    .min(1, `must be a whole number of ${unit}, at least 1`);

/** The shadow bounds; spread into the gateway's configSchema (`z.object({ ...shape, ...shadowConfigShape })`). */
export const shadowConfigShape = {
  /** Shadow copies in flight on one replica; more are counted `dropped`, never queued. */
  SHADOW_MAX_IN_FLIGHT: positive('requests').default(64),
  /** The shadow side must answer, body included, within this time, or the comparison counts as `errors`. */
  SHADOW_TIMEOUT_MS: positive('milliseconds').default(1_000),
  /** Bodies larger than this (on either side, also once decompressed) are not compared: `skipped`. */
  SHADOW_MAX_BODY_BYTES: positive('bytes').default(256 * 1024),
  /** 1 in this many shadowed requests also asks the chosen side a second time to find noise. */
  SHADOW_NOISE_EVERY: positive('requests').default(10),
};

export const shadowConfigSchema = z.object(shadowConfigShape);
export type ShadowConfig = z.infer<typeof shadowConfigSchema>;
