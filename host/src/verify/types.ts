/**
 * Shared types of the verify engine: transitions on both sides, tolerances and
 * their defaults. The engine is pure (no I/O, no timers): it turns what was sent
 * and what was observed into classifications, findings and statistics.
 */

export type TransitionAction = 'down' | 'up';

/** One key (or button) transition an observer must see, linked to the action that sent it. */
export interface ExpectedTransition {
  /** Canonical id: KEY_A, KEY_LEFTSHIFT, or BTN_LEFT for pointer buttons. */
  key: string;
  action: TransitionAction;
  /** InjectedAction.id of the action that sent it. */
  actionId: number;
  /** Host clock when it was sent (InjectedAction.sentAt). */
  sentAt: number;
  /** Scenario step (top-level, 0-based) when known. */
  step?: number;
  /**
   * Modifiers the expected sequence holds when this transition is sent (before
   * it takes effect), normalized names from modifiers.ts, sorted.
   */
  modifiers: readonly string[];
}

/** One key (or button) transition as observed, in delivery order. */
export interface ObservedTransition {
  key: string;
  /** 'repeat' is the guest's autorepeat of a held key. */
  action: TransitionAction | 'repeat';
  seq: number;
  /** Agent clock, ms. */
  t: number;
  /** Modifiers as the observer reported them (absent when it does not report any). */
  modifiers?: readonly string[];
}

export interface Tolerances {
  /** Largest acceptable pointer position error, pixels (Euclidean). */
  tolerancePx: number;
  /** Holds shorter than this may not autorepeat; longer holds may. */
  repeatThresholdMs: number;
  /** Look-ahead window of the linear-time alignment, and the reach of 'reordered'. */
  alignWindow: number;
  /** Largest expected × observed product aligned with the exact quadratic algorithm. */
  maxFullAlignCells: number;
  /** A latency below −(clock uncertainty + this) reveals a wrong clock estimate. */
  negativeLatencySlackMs: number;
}

export const DEFAULT_TOLERANCES: Readonly<Tolerances> = Object.freeze({
  tolerancePx: 2,
  repeatThresholdMs: 250,
  alignWindow: 64,
  maxFullAlignCells: 1 << 20,
  negativeLatencySlackMs: 1,
});

/** One matched pair's two times, for latency. */
export interface LatencyPair {
  sentAt: number;
  t: number;
}
