/**
 * Gradual-rollout bucketing compatible with Unleash's `gradualRolloutUserId` / flexible rollout
 * (seed 0): a user's bucket is murmur3("<flag>:<userId>") % 100 + 1, and the user is in the rollout
 * when bucket <= percent. Moving the flag to Unleash later therefore keeps every user on their side.
 */

/** MurmurHash3, x86 32-bit variant, over the UTF-8 bytes of `key`. */
export function murmurhash3(key: string, seed = 0): number {
  const bytes = Buffer.from(key, 'utf8');
  const length = bytes.length;
  const blocks = length - (length % 4);
  let h = seed >>> 0;
  let k = 0;
  for (let i = 0; i < blocks; i += 4) {
    k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h ^= mixK(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  k = 0;
  switch (length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: MurmurHash3 folds the tail bytes by falling through
    case 3:
      k ^= bytes[blocks + 2]! << 16;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: as above
    case 2:
      k ^= bytes[blocks + 1]! << 8;
    case 1:
      k ^= bytes[blocks]!;
      h ^= mixK(k);
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixK(k: number): number {
  let mixed = Math.imul(k, 0xcc9e2d51);
  mixed = (mixed << 15) | (mixed >>> 17);
  return Math.imul(mixed, 0x1b873593);
}

/** The user's bucket for a flag, 1..100 (Unleash's `normalizedStrategyValue`). */
export function bucketOf(flag: string, userId: string): number {
  return (murmurhash3(`${flag}:${userId}`) % 100) + 1;
}

/**
 * Whether a request goes to the new service at `percent`. Named users are sticky and monotonic
 * (raising the percent only ever adds buckets); anonymous requests are split at random.
 */
export function goesToNew(
  flag: string,
  percent: number,
  userId: string | undefined,
  random: () => number = Math.random,
): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  if (userId) return bucketOf(flag, userId) <= percent;
  return random() * 100 < percent;
}
