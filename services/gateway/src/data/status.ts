import { type DataStatus, dataStatusSchema } from '@cinemaabyss/admin-contract';
import { HttpError } from '@cinemaabyss/service-kit';
import type { Redis } from 'ioredis';
import { RedisUnavailableError, whileReady } from '../redis/connection.js';

export type { DataStatus };

/** Where the sync process publishes a domain's status (docs/data.md, The status document). */
export const dataStatusKey = (domain: string) => `cinemaabyss:data:${domain}`;
/** The sync process starts a full parity pass on each message here (requests during a pass share the next). */
export const verifyChannel = (domain: string) => `${dataStatusKey(domain)}:verify`;

/** A domain's status as read: the document, or why there is none (`absent`: no document at all). */
export type DataReading = { status: DataStatus } | { problem: string; absent: boolean };

/** The rollout's view of the data's status: what the judge reads, and the request for a pass now. */
export interface DataStatusSource {
  reading(domain: string): Promise<DataReading>;
  requestVerify(domain: string, requestedBy: string): Promise<unknown>;
}

const unavailable = () => new RedisUnavailableError('data store', 'the data status cannot be read');
const notSent = () => new RedisUnavailableError('data store', 'no pass was requested');

/**
 * The one seam onto the data domains' status documents, which the sync process writes and the gateway only
 * reads: the admin API serves them, the rollout judge gates on them. On the cluster connection; an unreachable
 * Redis throws RedisUnavailableError (a 503 to operators; the rollout driver freezes on it).
 */
export function createDataStatus(redis: Redis) {
  async function reading(domain: string): Promise<DataReading> {
    const key = dataStatusKey(domain);
    const text = await whileReady(redis, unavailable, () => redis.get(key));
    if (text === null)
      return { absent: true, problem: `no status document (${key} is absent: is its sync process running?)` };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { absent: false, problem: `the status document ${key} is not valid JSON` };
    }
    // Read through the contract's schema: what it does not list (a URL, say) is never served or judged.
    const parsed = dataStatusSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return {
        absent: false,
        problem: `the status document ${key} is malformed: ${issue.path.join('.') || 'document'}: ${issue.message}`,
      };
    }
    return { status: parsed.data };
  }

  return {
    reading,

    /** The domain's document for GET /admin/data/:domain: 404 without one, 502 when it is malformed. */
    async read(domain: string): Promise<DataStatus> {
      const result = await reading(domain);
      if ('status' in result) return result.status;
      if (result.absent)
        throw new HttpError(
          404,
          `no data status for domain "${domain}": its sync process publishes one every second or two, ` +
            'and none is in Redis (the process is not running, or the domain is unknown)',
        );
      throw new HttpError(502, result.problem);
    },

    /**
     * Asks the domain's sync process for a full parity pass. Pub/sub keeps nothing, so the answer says how
     * many processes heard it: 0 means none is listening and no pass will start. `by` is the field the
     * movies-sync names in its log (docs/data.md).
     */
    async requestVerify(domain: string, requestedBy: string, now = new Date()) {
      const requestedAt = now.toISOString();
      const message = JSON.stringify({ requestedBy, requestedAt, by: requestedBy });
      const receivers = await whileReady(redis, notSent, () => redis.publish(verifyChannel(domain), message));
      return { domain, requestedBy, requestedAt, receivers };
    },
  };
}
export type DataStatusStore = ReturnType<typeof createDataStatus>;
