/**
 * Windows low-level hook records (KBDLLHOOKSTRUCT, MSLLHOOKSTRUCT and the
 * message id in wParam) -> CapturedEvents. Pure: no FFI, no I/O, so it is tested
 * on Linux; hook-thread.ts only copies the struct fields into these records.
 * Hand-written: the field meanings come from the Win32 documentation, and the
 * quirks below are Windows behaviour, not data a table could hold.
 *
 * Keys: the canonical id comes from the PC/AT set-1 scancode, `scanCode` with
 * LLKHF_EXTENDED folded in as the 0xe0 prefix (0x1d + extended = 0xe01d, right
 * Ctrl), through keyFromSet1. native.scancode is that code, native.vk the VK.
 * Quirks of the low-level hook:
 * - Pause arrives as VK_PAUSE with scanCode 0x45 and no extended flag (the make
 *   code of Num Lock); Num Lock arrives as 0x45 *with* the flag. VK decides.
 * - Right Shift may carry LLKHF_EXTENDED; 0x36 is Right Shift either way.
 * - The "fake shifts" some keyboards wrap around extended keys (E0 2A / E0 AA)
 *   are not keys the user pressed: ignored ('fake-shift').
 * - SendInput with a VK and no scancode gives scanCode 0: the VK decides.
 * Windows reports autorepeat as another key-down; a down while the key is held
 * becomes 'repeat'. Modifiers follow the keys seen (and the lock toggles from
 * their initial state): Right Alt is 'alt', as in the evdev backend.
 * LLKHF_INJECTED / LLMHF_INJECTED (SendInput, not a device) is returned as
 * `injected` beside the event; the protocol has no field for it yet.
 *
 * Mouse: moves are `abs` in screen pixels (pt, per-monitor-aware coordinates;
 * negative left of the primary monitor) with the virtual screen as range;
 * buttons carry x/y; XBUTTON1/2 are 'side'/'extra' (BTN_SIDE/BTN_EXTRA). The
 * wheel's signed HIWORD(mouseData) counts WHEEL_DELTA (120) per notch with
 * positive = away from the user; the wheel event's convention is positive dy =
 * scroll down, positive dx = right, hiRes in 120ths.
 */
import { keyFromSet1, keyFromVk, type AxisRange, type NamedButton } from '@atp/protocol';
import type { CapturedEvent } from '../capture.js';

export const WM = {
  KEYDOWN: 0x100, KEYUP: 0x101, SYSKEYDOWN: 0x104, SYSKEYUP: 0x105,
  MOUSEMOVE: 0x200, LBUTTONDOWN: 0x201, LBUTTONUP: 0x202, RBUTTONDOWN: 0x204, RBUTTONUP: 0x205,
  MBUTTONDOWN: 0x207, MBUTTONUP: 0x208, MOUSEWHEEL: 0x20a, XBUTTONDOWN: 0x20b, XBUTTONUP: 0x20c, MOUSEHWHEEL: 0x20e,
} as const;
export const LLKHF = { EXTENDED: 0x01, LOWER_IL_INJECTED: 0x02, INJECTED: 0x10, ALTDOWN: 0x20, UP: 0x80 } as const;
export const LLMHF = { INJECTED: 0x01, LOWER_IL_INJECTED: 0x02 } as const;
export const WHEEL_DELTA = 120;
export const VK = { PAUSE: 0x13, CAPITAL: 0x14, NUMLOCK: 0x90, RSHIFT: 0xa1 } as const;

/** The fields of KBDLLHOOKSTRUCT plus the message (wParam) and the agent time it arrived. */
export interface KeyboardHookRecord {
  message: number;
  vkCode: number;
  scanCode: number;
  flags: number;
  /** Agent clock (ms) when the hook ran. */
  t: number;
}

/** The fields of MSLLHOOKSTRUCT plus the message (wParam) and the agent time. */
export interface MouseHookRecord {
  message: number;
  x: number;
  y: number;
  mouseData: number;
  flags: number;
  t: number;
}

export interface HookTranslation {
  event?: CapturedEvent;
  injected: boolean;
  /** Why nothing was emitted: 'fake-shift', 'unmapped', 'unknown-message'. */
  ignored?: string;
}

export const KEYBOARD_DEVICE = 'win-keyboard';
export const MOUSE_DEVICE = 'win-mouse';

const MODIFIERS: ReadonlyMap<string, string> = new Map([
  ['KEY_LEFTSHIFT', 'shift'], ['KEY_RIGHTSHIFT', 'shift'], ['KEY_LEFTCTRL', 'ctrl'], ['KEY_RIGHTCTRL', 'ctrl'],
  ['KEY_LEFTALT', 'alt'], ['KEY_RIGHTALT', 'alt'], ['KEY_LEFTMETA', 'meta'], ['KEY_RIGHTMETA', 'meta'],
]);
const MODIFIER_ORDER = ['shift', 'ctrl', 'alt', 'meta', 'capslock', 'numlock'];

/** The set-1 code the hook reports: scanCode with the extended flag as the 0xe0 prefix. */
export function set1FromHook(scanCode: number, flags: number): number {
  const scan = scanCode & 0xff;
  return (flags & LLKHF.EXTENDED) !== 0 ? 0xe000 | scan : scan;
}

/** The canonical key for a keyboard hook record, or why there is none. */
export function keyFromHook(vkCode: number, scanCode: number, flags: number): { key: string } | { ignored: string } {
  if (vkCode === VK.PAUSE) return { key: 'KEY_PAUSE' };
  const scan = scanCode & 0xff;
  if (vkCode === VK.NUMLOCK && scan === 0x45) return { key: 'KEY_NUMLOCK' };
  if (vkCode === VK.RSHIFT && scan === 0x36) return { key: 'KEY_RIGHTSHIFT' };
  const extended = (flags & LLKHF.EXTENDED) !== 0;
  if (extended && (scan === 0x2a || scan === 0x36)) return { ignored: 'fake-shift' };
  const fromScan = scan === 0 || scanCode > 0xff ? undefined : keyFromSet1(set1FromHook(scanCode, flags));
  const key = fromScan ?? keyFromVk(vkCode);
  return key === undefined ? { ignored: 'unmapped' } : { key };
}

/** Keyboard state across records: held keys (for 'repeat') and modifiers. */
export class HookKeyboardTranslator {
  private readonly held = new Set<string>();
  private readonly locks = new Set<string>();

  constructor(initialLocks: { capslock?: boolean; numlock?: boolean } = {}) {
    if (initialLocks.capslock === true) this.locks.add('capslock');
    if (initialLocks.numlock === true) this.locks.add('numlock');
  }

  translate(r: KeyboardHookRecord): HookTranslation {
    const injected = (r.flags & (LLKHF.INJECTED | LLKHF.LOWER_IL_INJECTED)) !== 0;
    const isUp = (r.flags & LLKHF.UP) !== 0 || r.message === WM.KEYUP || r.message === WM.SYSKEYUP;
    const isDown = !isUp && (r.message === WM.KEYDOWN || r.message === WM.SYSKEYDOWN);
    if (!isUp && !isDown) return { injected, ignored: 'unknown-message' };
    const mapped = keyFromHook(r.vkCode, r.scanCode, r.flags);
    if ('ignored' in mapped) return { injected, ignored: mapped.ignored };
    const key = mapped.key;
    let action: 'down' | 'up' | 'repeat';
    if (isUp) {
      action = 'up';
      this.held.delete(key);
    } else if (this.held.has(key)) {
      action = 'repeat';
    } else {
      action = 'down';
      this.held.add(key);
      if (key === 'KEY_CAPSLOCK') this.toggle('capslock');
      if (key === 'KEY_NUMLOCK') this.toggle('numlock');
    }
    const event: CapturedEvent = {
      kind: 'key',
      t: r.t,
      device: KEYBOARD_DEVICE,
      key,
      action,
      native: { scancode: set1FromHook(r.scanCode, r.flags), vk: r.vkCode },
      modifiers: this.modifiers(),
    };
    return { event, injected };
  }

  /** Forget held keys (the desktop switched, or the hooks restarted). */
  reset(): void {
    this.held.clear();
  }

  private toggle(lock: string): void {
    if (this.locks.has(lock)) this.locks.delete(lock);
    else this.locks.add(lock);
  }

  private modifiers(): string[] {
    const active = new Set<string>(this.locks);
    for (const key of this.held) {
      const name = MODIFIERS.get(key);
      if (name !== undefined) active.add(name);
    }
    return MODIFIER_ORDER.filter((m) => active.has(m));
  }
}

const BUTTONS: ReadonlyMap<number, { button: NamedButton; action: 'down' | 'up' }> = new Map([
  [WM.LBUTTONDOWN, { button: 'left', action: 'down' }], [WM.LBUTTONUP, { button: 'left', action: 'up' }],
  [WM.RBUTTONDOWN, { button: 'right', action: 'down' }], [WM.RBUTTONUP, { button: 'right', action: 'up' }],
  [WM.MBUTTONDOWN, { button: 'middle', action: 'down' }], [WM.MBUTTONUP, { button: 'middle', action: 'up' }],
]);

/** HIWORD(mouseData) as a signed 16-bit number. */
export function signedHighWord(mouseData: number): number {
  return ((mouseData >>> 16) << 16) >> 16;
}

export function translateMouseHook(r: MouseHookRecord, range?: AxisRange): HookTranslation {
  const injected = (r.flags & (LLMHF.INJECTED | LLMHF.LOWER_IL_INJECTED)) !== 0;
  const base = { t: r.t, device: MOUSE_DEVICE };
  if (r.message === WM.MOUSEMOVE) {
    const event: CapturedEvent = { ...base, kind: 'abs', x: r.x, y: r.y };
    if (range !== undefined) event.range = range;
    return { event, injected };
  }
  const button = BUTTONS.get(r.message);
  if (button !== undefined) return { event: { ...base, kind: 'button', ...button, x: r.x, y: r.y }, injected };
  if (r.message === WM.XBUTTONDOWN || r.message === WM.XBUTTONUP) {
    const which = signedHighWord(r.mouseData);
    if (which !== 1 && which !== 2) return { injected, ignored: 'unknown-message' };
    const action = r.message === WM.XBUTTONDOWN ? 'down' : 'up';
    return { event: { ...base, kind: 'button', button: which === 1 ? 'side' : 'extra', action, x: r.x, y: r.y }, injected };
  }
  if (r.message === WM.MOUSEWHEEL || r.message === WM.MOUSEHWHEEL) {
    const delta = signedHighWord(r.mouseData);
    const vertical = r.message === WM.MOUSEWHEEL;
    // Vertical: positive delta = away from the user = scroll up = negative dy.
    const hiDy = vertical ? (delta === 0 ? 0 : -delta) : 0;
    const hiDx = vertical ? 0 : delta;
    return { event: { ...base, kind: 'wheel', dx: hiDx / WHEEL_DELTA, dy: hiDy / WHEEL_DELTA, hiRes: { dx: hiDx, dy: hiDy } }, injected };
  }
  return { injected, ignored: 'unknown-message' };
}

/** The virtual screen (SM_X/Y/CX/CYVIRTUALSCREEN) as the range of `abs` events: inclusive pixel bounds. */
export function virtualScreenRange(left: number, top: number, width: number, height: number): AxisRange | undefined {
  if (width <= 0 || height <= 0) return undefined;
  return { xMin: left, xMax: left + width - 1, yMin: top, yMax: top + height - 1 };
}
