/** The gateway's admin API, called with the bearer token and never with a cookie. */

import type {
  DataStatus,
  DecisionEntry,
  FlagView,
  HistoryEntry,
  Operator,
  RecordedFlag,
  RolloutPlan,
  RolloutView,
  ShadowReport,
  Traffic,
  VerifyRequest,
  WindowStats,
} from '@cinemaabyss/admin-contract';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// The answers' types are the admin contract's, under the names the page reads them by.
export type Stats = WindowStats;
export type Me = Operator;
export type Flag = FlagView;
export type Recorded = RecordedFlag;
export type { DataStatus, HistoryEntry, ShadowReport, Traffic, VerifyRequest };
export type Decision = DecisionEntry;
export type Plan = RolloutPlan;
export type Rollout = RolloutView;

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

  dataPath(domain: string, rest = ''): string {
    return `/admin/data/${encodeURIComponent(domain)}${rest}`;
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
