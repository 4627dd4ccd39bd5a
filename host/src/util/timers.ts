/**
 * Node's setTimeout turns any delay above 2^31-1 ms (Infinity included) or NaN
 * into 1 ms, with only a process warning. A caller's `timeoutMs: Infinity`
 * ("wait as long as it takes") would then time out at once; clamp instead.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function timerDelay(ms: number): number {
  if (Number.isNaN(ms)) return 0;
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}
