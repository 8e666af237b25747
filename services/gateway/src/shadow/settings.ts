import {
  MAX_IGNORE_PATHS,
  MAX_PATH_LENGTH,
  type ShadowChange,
  type ShadowSettings,
  shadowChangeSchema,
} from '@cinemaabyss/admin-contract';
import { SHADOW_OFF } from '../flags/record.js';

export type { ShadowChange, ShadowSettings };
/** A flag without shadow fields: shadowing off (the flag record's default). */
export { MAX_IGNORE_PATHS, MAX_PATH_LENGTH, SHADOW_OFF, shadowChangeSchema };

/** The settings after a change; the report's epoch starts with the first change and stays until a reset. */
export function applyShadowChange(current: ShadowSettings, change: ShadowChange, now: Date): ShadowSettings {
  return {
    percent: change.percent ?? current.percent,
    ignore: change.ignore ?? current.ignore,
    since: current.since ?? now.toISOString(),
  };
}

/** The settings after POST …/shadow/reset: the same, with a new report epoch. */
export const resetShadow = (current: ShadowSettings, now: Date): ShadowSettings => ({
  ...current,
  since: now.toISOString(),
});
