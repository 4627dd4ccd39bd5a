/**
 * The live progress line the CLI rewrites in place while a suite runs:
 * "[1/2] smoke  step 12/40  keys 1200 sent · 1187 seen  0:12.3". Pure: the
 * caller owns the terminal (\r, clearing, throttling) and the numbers.
 */
import { printable } from './format.js';

export interface ProgressState {
  suite: string;
  /** Position of this suite in the run, from 1, and how many suites there are. */
  suiteIndex?: number;
  suiteCount?: number;
  /** The step being run, counted from 1 (0 before the first), of `steps` top-level steps. */
  step: number;
  steps: number;
  /** Key transitions sent so far and observed so far. */
  keysSent: number;
  keysObserved: number;
  elapsedMs: number;
}

export interface ProgressOptions {
  /** Cut the line to this many columns so it never wraps (no cut when absent). */
  width?: number;
}

/** m:ss.s, or h:mm:ss past an hour. */
export function formatElapsed(ms: number): string {
  const safe = Number.isFinite(ms) && ms > 0 ? ms : 0;
  const tenths = Math.floor(safe / 100);
  const totalS = Math.floor(tenths / 10);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return `${m}:${String(s).padStart(2, '0')}.${tenths % 10}`;
}

/** One line, no newline, no escape codes. */
export function formatProgress(state: ProgressState, options: ProgressOptions = {}): string {
  const position = state.suiteIndex !== undefined && state.suiteCount !== undefined ? `[${state.suiteIndex}/${state.suiteCount}] ` : '';
  const behind = state.keysSent - state.keysObserved;
  const lag = behind > 0 ? ` (${behind} in flight)` : '';
  const line = `${position}${printable(state.suite)}  step ${state.step}/${state.steps}  keys ${state.keysSent} sent · ${state.keysObserved} seen${lag}  ${formatElapsed(state.elapsedMs)}`;
  const width = options.width;
  if (width === undefined || width <= 0) return line;
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, width - 1).join('')}…`;
}
