/**
 * How the Pacer cuts a keystroke group into phases (inject/pacing.ts explains
 * the pacing): a new phase starts where the group turns from pressing to
 * releasing (a "hold" boundary) or from releasing to pressing (a "gap"
 * boundary); moves and wheels join the phase they are in. Pure.
 */
import type { InputAction } from './actions.js';

export interface Phase {
  actions: InputAction[];
  /** Wait before this phase, in ms. */
  waitMs: number;
}

const direction = (a: InputAction): 'down' | 'up' | 'other' => (a.kind === 'key' || a.kind === 'button' ? (a.down ? 'down' : 'up') : 'other');

/** Cuts a group into phases with the wait before each (the first phase waits `firstWaitMs`). */
export function phases(actions: readonly InputAction[], holdMs: number, gapMs: number, firstWaitMs: number): Phase[] {
  const out: Phase[] = [];
  let last: 'down' | 'up' | 'other' = 'other';
  for (const action of actions) {
    const dir = direction(action);
    const current = out[out.length - 1];
    const boundary = current !== undefined && ((last === 'down' && dir === 'up') || (last === 'up' && dir === 'down'));
    if (current === undefined || boundary) out.push({ actions: [action], waitMs: current === undefined ? firstWaitMs : dir === 'up' ? holdMs : gapMs });
    else current.actions.push(action);
    if (dir !== 'other') last = dir;
  }
  return out;
}

