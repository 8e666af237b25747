import type { Database } from '@cinemaabyss/postgres';

/**
 * WAL the source server keeps for the replication slot: from the slot's restart point to the current end
 * of the WAL, in bytes. It grows while the capture is stalled and, past max_slot_wal_keep_size, the server
 * drops the slot. Null when the slot does not exist (or was dropped for exactly that reason).
 * Readable by any role: pg_replication_slots and pg_current_wal_lsn() need no privilege.
 */
export async function retainedWalBytes(source: Database, slot: string): Promise<number | null> {
  const { rows } = await source.query<{ bytes: number | null }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 AS bytes
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  return rows[0]?.bytes ?? null;
}
