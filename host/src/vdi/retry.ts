/**
 * When a platform call is tried again, and after how long. Pure (the sleep is
 * abortable and lives here too, but takes no decisions).
 *
 * Only idempotent reads (GET) are retried, and only on failures that say
 * nothing about the server having acted: a network error, an HTTP 5xx, a
 * timeout. A POST, PATCH or DELETE is never sent twice: a batch start that
 * timed out may have started the VMs, and a second one would be a second task.
 * (Re-sending after status 1006 is a different rule, in http.ts: the platform
 * refused the token before doing anything.) Delays grow exponentially with
 * jitter (the shared backoffDelay of @atp/protocol) and attempts are bounded.
 */
import { AtpError, type BackoffOptions, backoffDelay, isAtpError } from '@atp/protocol';
import type { HttpMethod } from './endpoints.js';
import { timerDelay } from '../util/timers.js';

export interface RetryPolicy {
  /** Tries in all, the first included (1 = never retry). */
  attempts: number;
  backoff: BackoffOptions;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, backoff: { initialMs: 250, maxMs: 4000, factor: 2, jitter: 0.5 } };

/** The delays before try 2, 3, … of a policy: `attempts - 1` values. */
export function retrySchedule(policy: RetryPolicy, random: () => number = Math.random): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(0, policy.attempts - 1); i++) out.push(backoffDelay(i, policy.backoff, random));
  return out;
}

/** Whether a failed try of `method` may be repeated: GET only, and only on network errors, HTTP 5xx and timeouts. */
export function isRetryable(method: HttpMethod, error: unknown): boolean {
  if (method !== 'GET') return false;
  if (isAtpError(error, 'ATP_VDI_TIMEOUT')) return true;
  if (!isAtpError(error, 'ATP_VDI_HTTP')) return false;
  const httpStatus = error.details['httpStatus'];
  return typeof httpStatus !== 'number' || httpStatus >= 500;
}

/** Resolves after `ms`, or rejects ATP_VDI_ABORTED as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(aborted(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, timerDelay(ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function aborted(signal: AbortSignal, what = 'platform call'): AtpError {
  return new AtpError('ATP_VDI_ABORTED', `${what} stopped by its caller`, { cause: signal.reason });
}
