/** The gateway's admin API, called with the bearer token and never with a cookie. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Side = { requests: number; errors: number; errorRate: number; p99Ms: number };
export type Stats = { old: Side; new: Side };

export interface Me {
  name: string;
  role: 'operator' | 'viewer';
}

export interface Flag {
  name: string;
  enabled: boolean;
  percent: number;
  effectivePercent: number;
  allow: string[];
  deny: string[];
  source: string;
  routes: string[];
}

export interface Recorded {
  enabled: boolean;
  percent: number;
  allow: string[];
  deny: string[];
  shadow?: { percent: number; ignore: string[]; since: string | null };
}

export interface HistoryEntry {
  at: string;
  by: string;
  old: Recorded | null;
  new: Recorded;
}

export interface ShadowReport {
  percent: number;
  ignore: string[];
  since: string | null;
  compared: number;
  mismatched: number;
  mismatchRate: number | null;
  errors: number;
  dropped: number;
  paths: Array<{ path: string; mismatches: number; differed: number; excluded: string | null }>;
  samples: Array<{
    at: string;
    method: string;
    url: string;
    userId: string | null;
    status: { old: number; new: number };
    differences: Array<{ path: string; old: string; new: string }>;
  }>;
}

export interface Decision {
  at: string;
  step: number;
  percent: number;
  outcome: string;
  reason: string;
  by?: string;
  numbers?: Stats & { mismatch?: { rate: number; samples: number }; latencyLimitMs: number };
}

export interface Plan {
  steps: number[];
  intervalMs: number;
  minRequests: number;
  maxErrorRateIncrease: number;
  maxLatencyRatio: number;
  latencyFloorMs: number;
  maxMismatchRate?: number;
}

export interface Rollout {
  state: string;
  step: number;
  percent: number;
  plan: Plan;
  startedAt: string;
  nextDecisionAt: string;
  decisions: Decision[];
}

export interface Traffic {
  stepMs: number;
  samples: Array<Stats & { at: string; seconds: number }>;
  recent: Stats & { seconds: number };
}

export class Api {
  constructor(private readonly token: string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, 'the gateway cannot be reached');
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as { error?: unknown } | undefined)?.error;
      throw new ApiError(
        response.status,
        typeof error === 'string' ? error : `${response.status} ${response.statusText}`,
      );
    }
    return parsed as T;
  }

  flagPath(name: string, rest = ''): string {
    return `/admin/flags/${encodeURIComponent(name)}${rest}`;
  }

  /** The rollout of a flag, or null when it never had one (the API's 404). */
  async rollout(name: string): Promise<Rollout | null> {
    try {
      return await this.call<Rollout>('GET', this.flagPath(name, '/rollout'));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }
}
