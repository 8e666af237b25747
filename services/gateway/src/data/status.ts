import type { Redis } from 'ioredis';
import { z } from 'zod';

/** Where the movies-sync process publishes a domain's status (docs/data.md, The status document). */
export const dataStatusKey = (domain: string) => `cinemaabyss:data:${domain}`;
/** The sync process starts a full parity pass on each message here (requests during a pass share the next). */
export const verifyChannel = (domain: string) => `${dataStatusKey(domain)}:verify`;

/** The parts of the status document a rollout decision reads; the rest is passed over. */
export const dataStatusSchema = z.object({
  domain: z.string(),
  writes: z.string(),
  lagMs: z.number().nullable(),
  lagP99Ms: z.number().nullable().optional(),
  parity: z.object({
    state: z.enum(['ok', 'mismatch', 'unknown']),
    checkedAt: z.string().nullable(),
    rows: z.number().nullable().optional(),
    mismatched: z.number().nullable().optional(),
    missing: z.number().nullable().optional(),
    extra: z.number().nullable().optional(),
    sampleIds: z
      .array(z.union([z.number(), z.string()]))
      .nullable()
      .optional(),
  }),
  updatedAt: z.string(),
});
export type DataStatus = z.output<typeof dataStatusSchema>;

/** A domain's status as read: the document, or why there is none to judge. */
export type DataReading = { status: DataStatus } | { problem: string };

/** The rollout's one seam onto the data's status. */
export interface DataStatusSource {
  read(domain: string): Promise<DataReading>;
  /** Asks for a parity pass now rather than at the sync process's next scheduled one. */
  requestPass(domain: string, by: string): Promise<void>;
}

/**
 * Reads the status document from the cluster's Redis. A missing key or a document that does not parse is
 * a reading with its problem named (the judge holds on it); an unreachable Redis throws, as every other
 * read of the driver does, and freezes the rollouts.
 */
export class RedisDataStatus implements DataStatusSource {
  constructor(private readonly redis: Pick<Redis, 'get' | 'publish'>) {}

  async requestPass(domain: string, by: string): Promise<void> {
    await this.redis.publish(verifyChannel(domain), JSON.stringify({ by }));
  }

  async read(domain: string): Promise<DataReading> {
    const key = dataStatusKey(domain);
    const text = await this.redis.get(key);
    if (text === null) return { problem: `no status document (${key} is absent: is movies-sync running?)` };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { problem: `the status document ${key} is not JSON` };
    }
    const parsed = dataStatusSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return {
        problem: `the status document ${key} is unreadable: ${issue.path.join('.')}: ${issue.message}`,
      };
    }
    return { status: parsed.data };
  }
}
