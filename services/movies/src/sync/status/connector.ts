import { z } from 'zod';

/** Kafka Connect's states, and UNKNOWN when Connect does not answer (or does not know the connector). */
export const CONNECTOR_STATES = [
  'RUNNING',
  'PAUSED',
  'STOPPED',
  'FAILED',
  'RESTARTING',
  'UNASSIGNED',
  'UNKNOWN',
] as const;
export type ConnectorState = (typeof CONNECTOR_STATES)[number];

export interface ConnectorProbe {
  state: ConnectorState;
  /** Why the state is not RUNNING, for the log (a failed task's first trace line, Connect unreachable...). */
  reason?: string;
}

const statusBody = z.object({
  connector: z.object({ state: z.string() }),
  tasks: z.array(z.object({ id: z.number(), state: z.string(), trace: z.string().optional() })),
});

const known = (state: string): ConnectorState =>
  (CONNECTOR_STATES as readonly string[]).includes(state) ? (state as ConnectorState) : 'UNKNOWN';

/**
 * The connector's state as Connect reports it, folded with its tasks': a RUNNING connector whose task
 * failed (the usual way Debezium fails) captures nothing, so it is FAILED here; one without a task is
 * UNASSIGNED. Bounded by `timeoutMs`; any failure to get an answer is UNKNOWN.
 */
export async function probeConnector(
  connectUrl: string,
  name: string,
  timeoutMs: number,
): Promise<ConnectorProbe> {
  // fetch refuses URLs with credentials: a user:password in CONNECT_URL becomes a Basic header instead.
  const url = new URL(`connectors/${encodeURIComponent(name)}/status`, connectUrl.replace(/\/?$/, '/'));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (url.username || url.password) {
    const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    return { state: 'UNKNOWN', reason: timedOut ? `no answer within ${timeoutMs} ms` : String(error) };
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return { state: 'UNKNOWN', reason: `connector ${name} is not registered` };
  }
  const parsed = statusBody.safeParse(await response.json().catch(() => undefined));
  if (!response.ok || !parsed.success)
    return { state: 'UNKNOWN', reason: `unexpected answer from Connect (HTTP ${response.status})` };
  const { connector, tasks } = parsed.data;
  if (connector.state !== 'RUNNING')
    return { state: known(connector.state), reason: `connector ${connector.state}` };
  if (tasks.length === 0) return { state: 'UNASSIGNED', reason: 'the connector has no task' };
  const stuck = tasks.find((task) => task.state !== 'RUNNING');
  if (!stuck) return { state: 'RUNNING' };
  return {
    state: known(stuck.state),
    reason: `task ${stuck.id} ${stuck.state}${stuck.trace ? `: ${stuck.trace.split('\n')[0]}` : ''}`,
  };
}
