/**
 * Expectations from what was sent: InjectedAction[] (in send order) → what an
 * observer must see. Keyboard: key transitions in send order, each with the
 * modifiers the sequence holds at that point. Pointer: the absolute position
 * after each move (pixels), the positions that get checked (the end of each run
 * of moves), button transitions as BTN_* transitions, wheel notches per
 * direction, and the net relative displacement.
 *
 * Coordinates. Each injector owns its pixel → device mapping (QMP:
 * inject/pointer-scale.ts; SPICE and VNC map to the display surface, which
 * QEMU scales to its absolute axis). An observer reports the axis value with
 * its range (default 0..32767) and `absToPixels` maps it back:
 * x_px = round((x − xMin) · (width − 1) / (xMax − xMin)); the injectors aim at
 * the value that maps back to the intended pixel.
 */
import type { AxisRange } from '@atp/protocol';
import type { InjectedAction, PointerButton, ScreenSize } from '../inject/actions.js';
import { ModifierTracker, maskToNames } from './modifiers.js';
import type { ExpectedTransition } from './types.js';

/** QEMU's absolute axes run 0..0x7FFF; an observer that reports no range used that. */
const QEMU_ABS_AXIS_MAX = 0x7fff;
export const DEFAULT_ABS_RANGE: Readonly<AxisRange> = Object.freeze({ xMin: 0, xMax: QEMU_ABS_AXIS_MAX, yMin: 0, yMax: QEMU_ABS_AXIS_MAX });

/**
 * One axis value → pixel: round((value − min) · (size − 1) / (max − min)).
 * The single place this formula lives; a degenerate range (max = min) maps to 0.
 */
export function absAxisToPixel(value: number, min: number, max: number, size: number): number {
  if (max === min) return 0;
  return Math.round(((value - min) * (size - 1)) / (max - min));
}

/** An observed absolute position → screen pixels, with the event's range (default 0..32767). */
export function absToPixels(x: number, y: number, screen: ScreenSize, range: AxisRange = DEFAULT_ABS_RANGE): { x: number; y: number } {
  return {
    x: absAxisToPixel(x, range.xMin, range.xMax, screen.width),
    y: absAxisToPixel(y, range.yMin, range.yMax, screen.height),
  };
}

const BUTTON_IDS: Readonly<Record<string, string>> = {
  left: 'BTN_LEFT',
  right: 'BTN_RIGHT',
  middle: 'BTN_MIDDLE',
  side: 'BTN_SIDE',
  extra: 'BTN_EXTRA',
  forward: 'BTN_FORWARD',
  back: 'BTN_BACK',
  task: 'BTN_TASK',
};

/** A button name (action or observed) → its canonical BTN_* id. */
export function buttonId(button: PointerButton | string): string {
  return BUTTON_IDS[button] ?? button;
}

export interface ExpectedPosition {
  x: number;
  y: number;
  actionId: number;
  sentAt: number;
  step?: number;
  /** Expected button transitions sent before this position (it is checked at the next one, or at the end). */
  buttonsBefore: number;
}

export interface WheelTotals {
  up: number;
  down: number;
  left: number;
  right: number;
}

export interface PointerExpectations {
  /** The position after every absolute move, in send order. */
  moves: ExpectedPosition[];
  /** The last position of each run of moves (a run ends at a button, wheel or relative move): the checked ones. */
  positions: ExpectedPosition[];
  buttons: ExpectedTransition[];
  wheel: WheelTotals;
  /** Net relative displacement (device units) and how many relative moves made it. */
  relative: { dx: number; dy: number; moves: number };
}

export interface Expectations {
  keys: ExpectedTransition[];
  pointer: PointerExpectations;
}

function withStep<T extends object>(obj: T, step: number | undefined): T & { step?: number } {
  return step === undefined ? obj : { ...obj, step };
}

/** Derives what an observer must see from the actions as sent (in send order). */
export function deriveExpectations(injected: readonly InjectedAction[]): Expectations {
  const keys: ExpectedTransition[] = [];
  const tracker = new ModifierTracker();
  const pointer: PointerExpectations = {
    moves: [],
    positions: [],
    buttons: [],
    wheel: { up: 0, down: 0, left: 0, right: 0 },
    relative: { dx: 0, dy: 0, moves: 0 },
  };
  let pendingRunEnd: ExpectedPosition | undefined;
  const closeRun = (): void => {
    if (pendingRunEnd !== undefined) pointer.positions.push(pendingRunEnd);
    pendingRunEnd = undefined;
  };
  for (const ia of injected) {
    const a = ia.action;
    switch (a.kind) {
      case 'key': {
        const action = a.down ? 'down' : 'up';
        keys.push(withStep({ key: a.key, action, actionId: ia.id, sentAt: ia.sentAt, modifiers: maskToNames(tracker.mask()) }, ia.step));
        tracker.apply(a.key, action);
        break;
      }
      case 'move': {
        pendingRunEnd = withStep({ x: a.x, y: a.y, actionId: ia.id, sentAt: ia.sentAt, buttonsBefore: pointer.buttons.length }, ia.step);
        pointer.moves.push(pendingRunEnd);
        break;
      }
      case 'button':
        closeRun();
        pointer.buttons.push(
          withStep({ key: buttonId(a.button), action: a.down ? 'down' : 'up', actionId: ia.id, sentAt: ia.sentAt, modifiers: [] }, ia.step),
        );
        break;
      case 'wheel':
        closeRun();
        if (a.dy > 0) pointer.wheel.down += a.dy;
        else pointer.wheel.up -= a.dy;
        if (a.dx > 0) pointer.wheel.right += a.dx;
        else pointer.wheel.left -= a.dx;
        break;
      case 'moveBy':
        closeRun();
        pointer.relative.dx += a.dx;
        pointer.relative.dy += a.dy;
        pointer.relative.moves += 1;
        break;
    }
  }
  closeRun();
  return { keys, pointer };
}
