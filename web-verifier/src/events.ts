/**
 * DOM events → observed events of the agent protocol (agent-events.ts).
 *
 * - Keys: DOM `code` → canonical key id through the key table. A code the table
 *   lacks (or the empty code of a virtual keyboard) becomes KEY_UNKNOWN with the
 *   raw code and key in `native`: reported, never dropped. `modifiers` is the
 *   state the browser reports after the event (getModifierState).
 * - Pointer: `abs` x/y are CSS pixels of the screen (screenX/screenY), with the
 *   range 0..screen.width-1 × 0..screen.height-1 (inclusive, like evdev absinfo).
 *   Buttons carry the same screen coordinates.
 * - Wheel: dy/dx in notches, positive = down/right (the DOM's and the scenario's
 *   sign); hiRes in 120ths of a notch. Notches come from deltaMode: lines / 3,
 *   pages as is, pixels / wheelPxPerNotch (100 by default, ?wheelPx= to change).
 * - Text: what an `input` event inserted (inputType + data; a line break is "\n").
 *   During an IME composition the text events carry composing: true; the committed
 *   text is the composition `end` event's data.
 */
import { keyFromDomCode, type ButtonName, type UnsequencedEvent } from '@atp/protocol';
import { eventTime } from './clock.js';

/** getModifierState name → the protocol's modifier name. */
export const MODIFIERS: readonly (readonly [string, string])[] = [
  ['Shift', 'shift'],
  ['Control', 'ctrl'],
  ['Alt', 'alt'],
  ['AltGraph', 'altgr'],
  ['Meta', 'meta'],
  ['CapsLock', 'capslock'],
  ['NumLock', 'numlock'],
];

/** The page reports as one device. */
export const PAGE_DEVICE = '';
export const UNKNOWN_KEY = 'KEY_UNKNOWN';
const MAX_NATIVE = 64;
const MAX_TEXT = 4096;

export function modifiersOf(e: KeyboardEvent | MouseEvent): string[] {
  return MODIFIERS.filter(([dom]) => e.getModifierState(dom)).map(([, name]) => name);
}

export function keyEvent(e: KeyboardEvent): UnsequencedEvent {
  const action = e.type === 'keyup' ? 'up' : e.repeat ? 'repeat' : 'down';
  return {
    kind: 'key',
    t: eventTime(e),
    device: PAGE_DEVICE,
    key: keyFromDomCode(e.code) ?? UNKNOWN_KEY,
    action,
    native: { domCode: e.code.slice(0, MAX_NATIVE), domKey: e.key.slice(0, MAX_NATIVE), location: e.location },
    modifiers: modifiersOf(e),
  };
}

export interface ScreenSize {
  width: number;
  height: number;
}

export function absEvent(e: PointerEvent, screen: ScreenSize): UnsequencedEvent {
  const range = { xMin: 0, xMax: Math.max(0, screen.width - 1), yMin: 0, yMax: Math.max(0, screen.height - 1) };
  return { kind: 'abs', t: eventTime(e), device: PAGE_DEVICE, x: e.screenX, y: e.screenY, range };
}

/** MouseEvent.button → protocol button name. */
const BUTTONS: Readonly<Record<number, ButtonName>> = { 0: 'left', 1: 'middle', 2: 'right', 3: 'back', 4: 'forward' };
/** MouseEvent.button → its bit in MouseEvent.buttons. */
const BUTTON_BITS: Readonly<Record<number, number>> = { 0: 1, 1: 4, 2: 2, 3: 8, 4: 16 };

/**
 * A button transition, or undefined. pointerdown/up fire only for the first
 * button pressed and the last released; the others arrive as a pointermove
 * with `button` set ("chorded" buttons), told apart by the `buttons` mask.
 */
export function buttonEvent(e: PointerEvent): UnsequencedEvent | undefined {
  if (e.button < 0) return undefined;
  const button: ButtonName = BUTTONS[e.button] ?? (`BTN_${e.button}` as ButtonName);
  let action: 'down' | 'up';
  if (e.type === 'pointerdown') action = 'down';
  else if (e.type === 'pointerup') action = 'up';
  else action = (e.buttons & (BUTTON_BITS[e.button] ?? 0)) !== 0 ? 'down' : 'up';
  return { kind: 'button', t: eventTime(e), device: PAGE_DEVICE, button, action, x: e.screenX, y: e.screenY };
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

export function wheelNotches(delta: number, deltaMode: number, pxPerNotch: number): number {
  if (deltaMode === 1) return delta / 3; // DOM_DELTA_LINE: browsers scroll 3 lines per notch
  if (deltaMode === 2) return delta; // DOM_DELTA_PAGE
  return delta / pxPerNotch;
}

export function wheelEvent(e: WheelEvent, pxPerNotch: number): UnsequencedEvent {
  const dx = wheelNotches(e.deltaX, e.deltaMode, pxPerNotch);
  const dy = wheelNotches(e.deltaY, e.deltaMode, pxPerNotch);
  return { kind: 'wheel', t: eventTime(e), device: PAGE_DEVICE, dx: round3(dx), dy: round3(dy), hiRes: { dx: Math.round(dx * 120), dy: Math.round(dy * 120) } };
}

const LINE_BREAKS = new Set(['insertLineBreak', 'insertParagraph']);

/** The text an input event produced; undefined when it produced none (deletions, formatting). */
export function textEvent(e: InputEvent, pasted: string | undefined): UnsequencedEvent | undefined {
  let text: string | null = e.data;
  if (text === null && LINE_BREAKS.has(e.inputType)) text = '\n';
  if (text === null && pasted !== undefined) text = pasted;
  const composing = e.isComposing || e.inputType === 'insertCompositionText';
  if (text === null || (text === '' && !composing)) return undefined;
  return { kind: 'text', t: eventTime(e), device: PAGE_DEVICE, text: text.slice(0, MAX_TEXT), inputType: e.inputType.slice(0, 64), composing };
}

export function compositionEvent(e: CompositionEvent): UnsequencedEvent {
  const phase = e.type === 'compositionstart' ? 'start' : e.type === 'compositionend' ? 'end' : 'update';
  return { kind: 'composition', t: eventTime(e), device: PAGE_DEVICE, phase, data: e.data.slice(0, MAX_TEXT) };
}

export function focusEvent(e: Event, state: 'focus' | 'blur' | 'visible' | 'hidden'): UnsequencedEvent {
  return { kind: 'focus', t: eventTime(e), device: PAGE_DEVICE, state };
}
