import { type DataStatus, dataStatusSchema } from '@cinemaabyss/admin-contract';
import { HttpError } from '@cinemaabyss/service-kit';
import type { Redis } from 'ioredis';
import { RedisUnavailableError, whileReady } from '../redis/connection.js';

/** Where the sync process publishes a domain's status, and the channel it listens on for a pass now. */
export const dataStatusKey = (domain: string) => `cinemaabyss:data:${domain}`;
export const verifyChannel = (domain: string) => `${dataStatusKey(domain)}:verify`;

const unavailable = () => new RedisUnavailableError('data store', 'the data status cannot be read');
const notSent = () => new RedisUnavailableError('data store', 'no pass was requested');

/**
 * The data domains' status documents, which the sync process writes and the gateway only serves
 * (docs/data.md, The status document), and the request for a parity pass now. On the cluster connection.
 */
export function createDataStatus(redis: Redis) {
  return {
    /** The domain's document, read through the contract's schema: what it does not list is not served. */
    async read(domain: string): Promise<DataStatus> {
      const text = await whileReady(redis, unavailable, () => redis.get(dataStatusKey(domain)));
      if (text === null)
        throw new HttpError(
          404,
          `no data status for domain "${domain}": its sync process publishes one every second or two, ` +
            'and none is in Redis (the process is not running, or the domain is unknown)',
        );
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new HttpError(502, `the data status of domain "${domain}" in Redis is not valid JSON`);
      }
      const result = dataStatusSchema.safeParse(parsed);
      if (!result.success) {
        const issue = result.error.issues[0]!;
        throw new HttpError(
          502,
          `the data status of domain "${domain}" in Redis is malformed: ${issue.path.join('.') || 'document'}: ${issue.message}`,
        );
      }
      return result.data;
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
