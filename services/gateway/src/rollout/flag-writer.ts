import type { RolloutStore } from './store.js';

/** Where a rollout sets its flag's percent; the gateway implements it on its flag store (and its history). */
export interface FlagWriter {
  setPercent(flag: string, percent: number, reason: string): Promise<void>;
}

/**
 * Writes the rollout's current percent to the flag and acknowledges it, re-reading until the version it
 * wrote is still current, so a transition that lands meanwhile is written too. Called after every
 * transition that changes the percent, and by the lease holder for one that was never acknowledged (its
 * writer died in between).
 */
export async function applyPercent(
  store: RolloutStore,
  writer: FlagWriter,
  flag: string,
  reason: string,
): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const rollout = await store.get(flag);
    if (!rollout || rollout.applied === rollout.version) return;
    await writer.setPercent(flag, rollout.percent, reason);
    if (await store.markApplied(flag, rollout.version)) return;
  }
}
