/**
 * Reconnect delays: exponential backoff with jitter, shared by every client that
 * reconnects (QMP, QGA, agent links, SSH, the web verifier). Pure: the caller sleeps.
 */

export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  initialMs?: number;
  /** Upper bound on any delay, in ms. */
  maxMs?: number;
  /** Growth per attempt. */
  factor?: number;
  /** Fraction of the delay that is randomised away (0 = none, 1 = full jitter). */
  jitter?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0.5 };

/** Delay before retry number `attempt` (0-based), in ms. `random` returns [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const o = { ...DEFAULT_BACKOFF, ...options };
  const jitter = Math.min(1, Math.max(0, o.jitter));
  // A NaN attempt counts as the first; 0 × Infinity (initialMs 0, huge attempt) as 0.
  const raw = o.initialMs * o.factor ** (Number.isNaN(attempt) ? 0 : Math.max(0, attempt));
  const base = Number.isNaN(raw) ? 0 : Math.min(o.maxMs, raw);
  return Math.round(base * (1 - jitter * random()));
}
