/**
 * Which pacing a suite runs with: the command line's choice (--rate N,
 * --closed-loop [N]) over the suite's defaults (pacing, holdMs, gapMs,
 * maxInFlight, timeoutMs) over ours. A step's own holdMs/gapMs win over all of
 * these for that step. Pure.
 */
import { AtpError, type ScenarioV1 } from '@atp/protocol';
import type { PacingPolicy } from '../inject/pacing.js';

/** Open-loop default: 50 keystrokes/s, each key held 10 ms, 10 ms between keystrokes. */
export const DEFAULT_HOLD_MS = 10;
export const DEFAULT_GAP_MS = 10;
export const DEFAULT_MAX_IN_FLIGHT = 8;
export const DEFAULT_FEEDBACK_TIMEOUT_MS = 10_000;

export interface PacingFlags {
  /** Open loop at this many keystrokes per second (hold and gap of 500/N ms each). */
  rate?: number;
  /** Closed loop; a number sets maxInFlight. */
  closedLoop?: boolean | number;
}

export interface ResolvedPacing {
  mode: 'open' | 'closed';
  holdMs: number;
  gapMs: number;
  maxInFlight: number;
  timeoutMs: number;
}

export function resolvePacing(defaults: ScenarioV1['defaults'], flags: PacingFlags = {}): ResolvedPacing {
  if (flags.rate !== undefined && flags.closedLoop !== undefined && flags.closedLoop !== false) {
    throw new AtpError('ATP_SCHEMA_INVALID', '--rate (open loop) and --closed-loop exclude each other', { details: { field: 'pacing' } });
  }
  if (flags.rate !== undefined && (!Number.isFinite(flags.rate) || flags.rate <= 0)) {
    throw new AtpError('ATP_SCHEMA_INVALID', `--rate expects keystrokes per second > 0, got ${flags.rate}`, { details: { field: 'rate', value: flags.rate } });
  }
  const maxInFlight = typeof flags.closedLoop === 'number' ? flags.closedLoop : (defaults?.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new AtpError('ATP_SCHEMA_INVALID', `--closed-loop expects a whole number of keys in flight >= 1, got ${maxInFlight}`, { details: { field: 'closedLoop', value: maxInFlight } });
  }
  const timeoutMs = defaults?.timeoutMs ?? DEFAULT_FEEDBACK_TIMEOUT_MS;
  const closed = flags.closedLoop === true || typeof flags.closedLoop === 'number' || (flags.rate === undefined && defaults?.pacing === 'closed');
  if (closed) return { mode: 'closed', holdMs: defaults?.holdMs ?? 0, gapMs: 0, maxInFlight, timeoutMs };
  if (flags.rate !== undefined) {
    const half = 500 / flags.rate;
    return { mode: 'open', holdMs: half, gapMs: half, maxInFlight, timeoutMs };
  }
  return { mode: 'open', holdMs: defaults?.holdMs ?? DEFAULT_HOLD_MS, gapMs: defaults?.gapMs ?? DEFAULT_GAP_MS, maxInFlight, timeoutMs };
}

/** The Pacer policy for one step, with the step's own holdMs/gapMs applied. */
export function policyFor(pacing: ResolvedPacing, step: { holdMs?: number | undefined; gapMs?: number | undefined }): PacingPolicy {
  const holdMs = step.holdMs ?? pacing.holdMs;
  if (pacing.mode === 'closed') return { mode: 'closed', maxInFlight: pacing.maxInFlight, timeoutMs: pacing.timeoutMs, holdMs };
  return { mode: 'open', holdMs, gapMs: step.gapMs ?? pacing.gapMs };
}
