/**
 * Pointer verification: absolute positions, buttons, wheel notches, relative
 * motion.
 *
 * Positions. The observed position is the last `abs` event so far, converted to
 * pixels with its own axis range (expectations.ts absToPixels); evdev reports an
 * axis only when it changes, so a position carries over until the next event,
 * and before the first one it is the kernel's initial state, 0, 0.
 * A run of moves is checked where it ends: at the next button transition, or at
 * the end of observation. When the button sequences agree (no button findings
 * and as many observed as expected), run k is compared with the position just
 * before the observed button k; otherwise only the final position is checked.
 * Runs that end at a wheel or relative move followed by more moves before the
 * next button are not checked (the later run is). Error is Euclidean, in pixels;
 * above tolerancePx it is a 'pointer-error' finding.
 * Buttons: matched like keys (match-keys.ts) as BTN_* transitions.
 * Wheel: notches per direction (up, down, left, right) totalled on both sides;
 * fewer observed → 'missing', more → 'extra'. hiRes units (120 per notch) stand in
 * when an event carries no notch count.
 * Relative moves: the net observed displacement against the net sent one, same
 * tolerance (evdev reports raw device units, before pointer acceleration).
 */
import type { Finding, ObservedEvent } from '@atp/protocol';
import type { ScreenSize } from '../inject/actions.js';
import { absToPixels, buttonId, type PointerExpectations, type WheelTotals } from './expectations.js';
import type { ClockInput } from './latency.js';
import { matchTransitions, type TransitionMatch } from './match-keys.js';
import type { ObservedTransition, Tolerances } from './types.js';

export interface PointerStats {
  samples: number;
  maxErrorPx: number;
  meanErrorPx: number;
  tolerancePx: number;
}

export interface PointerMatch {
  findings: Finding[];
  /** Absent when no absolute position was expected. */
  stats?: PointerStats;
  buttons: TransitionMatch;
}

interface Seen {
  x: number;
  y: number;
  seq: number;
}

const at = (step: number | undefined): string => (step === undefined ? '' : ` at step ${step}`);
const round1 = (v: number): number => Math.round(v * 10) / 10;

function observedWheel(observed: readonly ObservedEvent[]): WheelTotals {
  const w: WheelTotals = { up: 0, down: 0, left: 0, right: 0 };
  for (const ev of observed) {
    if (ev.kind !== 'wheel') continue;
    const dy = ev.dy === 0 && ev.hiRes !== undefined ? ev.hiRes.dy / 120 : ev.dy;
    const dx = ev.dx === 0 && ev.hiRes !== undefined ? ev.hiRes.dx / 120 : ev.dx;
    if (dy > 0) w.down += dy;
    else w.up -= dy;
    if (dx > 0) w.right += dx;
    else w.left -= dx;
  }
  return w;
}

function wheelFindings(expected: WheelTotals, seen: WheelTotals): Finding[] {
  const out: Finding[] = [];
  for (const dir of ['up', 'down', 'left', 'right'] as const) {
    const e = expected[dir];
    const o = seen[dir];
    if (e === o) continue;
    const kind = o < e ? 'missing' : 'extra';
    const message =
      kind === 'missing' ? `${e - o} of ${e} wheel notches ${dir} never observed` : `${o - e} wheel notches ${dir} observed beyond the ${e} sent`;
    out.push({ kind, message, expected: { wheel: dir, notches: e }, observed: { wheel: dir, notches: o } });
  }
  return out;
}

function relativeFinding(expected: PointerExpectations['relative'], observed: readonly ObservedEvent[], tolerancePx: number): Finding | undefined {
  if (expected.moves === 0) return undefined;
  let dx = 0;
  let dy = 0;
  for (const ev of observed) {
    if (ev.kind !== 'rel') continue;
    dx += ev.dx;
    dy += ev.dy;
  }
  const error = Math.hypot(dx - expected.dx, dy - expected.dy);
  if (error <= tolerancePx) return undefined;
  return {
    kind: 'pointer-error',
    message: `relative motion netted (${dx}, ${dy}), expected (${expected.dx}, ${expected.dy}) over ${expected.moves} moves: off by ${round1(error)} units > ${tolerancePx}`,
    expected: { dx: expected.dx, dy: expected.dy, moves: expected.moves },
    observed: { dx, dy, errorPx: error },
  };
}

export function matchPointer(
  expected: PointerExpectations,
  observed: readonly ObservedEvent[],
  screen: ScreenSize,
  tol: Pick<Tolerances, 'tolerancePx' | 'alignWindow' | 'maxFullAlignCells' | 'repeatThresholdMs' | 'negativeLatencySlackMs'>,
  clock?: ClockInput,
): PointerMatch {
  const buttonsObserved: ObservedTransition[] = [];
  const atButton: Array<Seen | undefined> = [];
  let current: Seen | undefined;
  for (const ev of observed) {
    if (ev.kind === 'abs') current = { ...absToPixels(ev.x, ev.y, screen, ev.range), seq: ev.seq };
    else if (ev.kind === 'button') {
      atButton.push(current);
      buttonsObserved.push({ key: buttonId(ev.button), action: ev.action, seq: ev.seq, t: ev.t });
    }
  }
  const buttons = matchTransitions(expected.buttons, buttonsObserved, { ...tol, noun: 'button', ...(clock === undefined ? {} : { clock }) });
  const findings: Finding[] = [...buttons.findings];
  const aligned = buttons.findings.length === 0 && buttonsObserved.length === expected.buttons.length;
  const errors: number[] = [];
  expected.positions.forEach((p, i) => {
    const next = expected.positions[i + 1];
    if (next !== undefined && next.buttonsBefore === p.buttonsBefore) return;
    const last = next === undefined;
    if (!aligned && !last) return;
    const seen = aligned && p.buttonsBefore < atButton.length ? atButton[p.buttonsBefore] : current;
    const where = p.buttonsBefore < expected.buttons.length && aligned ? `before button transition ${p.buttonsBefore + 1}` : 'at the end';
    const exp = { x: p.x, y: p.y, actionId: p.actionId };
    // No abs event yet: the kernel's axis state, which starts at 0 (evdev reports changes only).
    const pos = seen ?? { ...absToPixels(0, 0, screen), seq: 0 };
    const none = seen === undefined ? ' (no absolute event observed: still at the initial 0, 0)' : '';
    const error = Math.hypot(pos.x - p.x, pos.y - p.y);
    errors.push(error);
    if (error <= tol.tolerancePx) return;
    findings.push({
      kind: 'pointer-error',
      message: `pointer at (${pos.x}, ${pos.y})${none} ${where}, expected (${p.x}, ${p.y}) after move #${p.actionId}: off by ${round1(error)} px > ${tol.tolerancePx} px${at(p.step)}`,
      expected: exp,
      observed: { x: pos.x, y: pos.y, ...(seen === undefined ? {} : { seq: seen.seq }), errorPx: error },
      ...(p.step === undefined ? {} : { step: p.step }),
    });
  });
  findings.push(...wheelFindings(expected.wheel, observedWheel(observed)));
  const rel = relativeFinding(expected.relative, observed, tol.tolerancePx);
  if (rel !== undefined) findings.push(rel);
  const result: PointerMatch = { findings, buttons };
  if (expected.positions.length > 0) {
    result.stats = {
      samples: errors.length,
      maxErrorPx: errors.reduce((m, e) => Math.max(m, e), 0),
      meanErrorPx: errors.length === 0 ? 0 : errors.reduce((s, e) => s + e, 0) / errors.length,
      tolerancePx: tol.tolerancePx,
    };
  }
  return result;
}
