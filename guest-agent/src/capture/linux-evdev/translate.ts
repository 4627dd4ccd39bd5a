/**
 * Raw evdev records of one device -> CapturedEvents. Pure: no I/O, no timers.
 *
 * Frames: evdev groups the events of one hardware report up to SYN_REPORT. The
 * translator buffers a frame and emits at its SYN_REPORT, in this order:
 * motion (one `rel` with the summed REL_X/REL_Y, or one `abs` with the current
 * ABS_X/ABS_Y), then keys and buttons in arrival order, then one `wheel`.
 * - EV_KEY value 1/0/2 -> key down/up/repeat (repeat kept distinct); BTN_* codes ->
 *   `button` down/up (value 2 on a button is ignored: buttons do not autorepeat).
 *   Codes the key table lacks become KEY_UNNAMED_<code> / BTN_UNNAMED_<code>;
 *   codes above KEY_MAX are ignored.
 * - EV_MSC MSC_SCAN is attached as native.scancode to the next key of the frame.
 * - Wheel: dy counts notches with positive = scroll down, dx positive = right (the
 *   scenario convention), i.e. dy = -REL_WHEEL, dx = REL_HWHEEL. The *_HI_RES
 *   axes (120 per notch) go to `hiRes` with the same signs, never added to dy/dx.
 * - ABS_X/ABS_Y: evdev reports an axis only when it changes, so the translator
 *   keeps the last value of each, starting at 0 like the kernel's own state. The
 *   range comes from the caller (EVIOCGABS needs an ioctl; see linux-evdev/index.ts).
 *   Buttons of a device with absolute axes carry the current x/y.
 * - SYN_DROPPED: the kernel lost events. Emitted at once as `sync-dropped`; the
 *   partial frame and everything up to the next SYN_REPORT are discarded (kernel
 *   docs, input/event-codes.rst). Held-key state may be stale after a drop.
 * - EV_LED LED_NUML/LED_CAPSL update the lock state reported in `modifiers`.
 * Anything else (other types, nonsense codes from a corrupt stream) is ignored.
 */
import { evdevCodes as C, eventTimeMs, keyFromEvdev, type AxisRange, type ButtonName, type RawInputEvent } from '@atp/protocol';
import type { CapturedEvent } from '../capture.js';

type KeyLikeEvent = Extract<CapturedEvent, { kind: 'key' | 'button' }>;

const NAMED_BUTTONS: ReadonlyMap<number, ButtonName> = new Map<number, ButtonName>([
  [0x110, 'left'], [0x111, 'right'], [0x112, 'middle'], [0x113, 'side'],
  [0x114, 'extra'], [0x115, 'forward'], [0x116, 'back'], [0x117, 'task'],
]);

const MODIFIER_KEYS: ReadonlyMap<number, string> = new Map([
  [42, 'shift'], [54, 'shift'], [29, 'ctrl'], [97, 'ctrl'], [56, 'alt'], [100, 'alt'], [125, 'meta'], [126, 'meta'],
]);
const MODIFIER_ORDER = ['shift', 'ctrl', 'alt', 'meta', 'capslock', 'numlock'];
/** Keys wait for their SYN_REPORT; a stream that never sends one is flushed at this many. */
const MAX_FRAME_KEYS = 256;

/**
 * Held modifier keys and lock LEDs. The evdev backend shares one across all
 * keyboards, as a desktop merges them (Shift on one keyboard, A on another).
 * Right Alt is reported as 'alt': evdev sees keys, not the layout that makes it AltGr.
 */
export class ModifierState {
  private readonly held = new Map<string, Set<string>>();
  private readonly locks = new Set<string>();

  key(holder: string, code: number, down: boolean): void {
    const name = MODIFIER_KEYS.get(code);
    if (name === undefined) return;
    const id = `${holder}:${code}`;
    const set = this.held.get(name) ?? new Set<string>();
    if (down) set.add(id);
    else set.delete(id);
    if (set.size > 0) this.held.set(name, set);
    else this.held.delete(name);
  }

  led(code: number, on: boolean): void {
    const name = code === C.LED_CAPSL ? 'capslock' : code === C.LED_NUML ? 'numlock' : undefined;
    if (name === undefined) return;
    if (on) this.locks.add(name);
    else this.locks.delete(name);
  }

  /** Forget everything one device held (it went away). */
  release(holder: string): void {
    for (const [name, set] of this.held) {
      for (const id of set) if (id.startsWith(`${holder}:`)) set.delete(id);
      if (set.size === 0) this.held.delete(name);
    }
  }

  list(): string[] {
    return MODIFIER_ORDER.filter((m) => this.held.has(m) || this.locks.has(m));
  }
}

export interface TranslatorOptions {
  /** Device id put on every event. */
  device: string;
  /** ABS_X/ABS_Y range, attached to `abs` events. */
  absRange?: AxisRange;
  /** Shared modifier state (default: one of its own). */
  modifiers?: ModifierState;
}

function isButtonCode(code: number): boolean {
  return (code >= C.BTN_MISC && code < C.BTN_RANGE_END) || (code >= C.BTN_TRIGGER_HAPPY && code < C.BTN_TRIGGER_HAPPY_END);
}

function buttonName(code: number): ButtonName {
  const named = NAMED_BUTTONS.get(code);
  if (named !== undefined) return named;
  const id = keyFromEvdev(code);
  return id !== undefined && id.startsWith('BTN_') ? (id as ButtonName) : `BTN_UNNAMED_${code}`;
}

function keyName(code: number): `KEY_${string}` | `BTN_${string}` {
  return keyFromEvdev(code) ?? `KEY_UNNAMED_${code}`;
}

export class EvdevTranslator {
  readonly device: string;
  private readonly absRange: AxisRange | undefined;
  private readonly modifiers: ModifierState;
  private dropping = false;
  private keys: KeyLikeEvent[] = [];
  private scancode: number | undefined;
  private relX = 0;
  private relY = 0;
  private relSeen = false;
  private wheel = { dx: 0, dy: 0, hiDx: 0, hiDy: 0, seen: false, hiSeen: false };
  private absX = 0;
  private absY = 0;
  private absSeen = false;
  private absDevice = false;

  constructor(options: TranslatorOptions) {
    this.device = options.device;
    this.absRange = options.absRange;
    this.modifiers = options.modifiers ?? new ModifierState();
    if (options.absRange !== undefined) this.absDevice = true;
  }

  /** Feeds records in stream order; returns the events they complete. */
  push(events: readonly RawInputEvent[]): CapturedEvent[] {
    const out: CapturedEvent[] = [];
    for (const e of events) this.one(e, out);
    return out;
  }

  /** The device went away: drop its partial frame and release the modifiers it held. */
  close(): void {
    this.resetFrame();
    this.modifiers.release(this.device);
  }

  private one(e: RawInputEvent, out: CapturedEvent[]): void {
    if (e.type === C.EV_SYN) {
      if (e.code === C.SYN_DROPPED) {
        this.resetFrame();
        this.dropping = true;
        out.push({ kind: 'sync-dropped', t: eventTimeMs(e), device: this.device });
      } else if (e.code === C.SYN_REPORT) {
        if (this.dropping) this.resetFrame();
        else this.flush(eventTimeMs(e), out);
        this.dropping = false;
      }
      return;
    }
    if (this.dropping) return;
    switch (e.type) {
      case C.EV_KEY: this.key(e, out); break;
      case C.EV_REL: this.rel(e); break;
      case C.EV_ABS: this.abs(e); break;
      case C.EV_MSC: if (e.code === C.MSC_SCAN) this.scancode = e.value; break;
      case C.EV_LED: this.modifiers.led(e.code, e.value !== 0); break;
      default: break;
    }
  }

  private key(e: RawInputEvent, out: CapturedEvent[]): void {
    if (e.code > C.KEY_MAX || e.code === 0) return;
    const t = eventTimeMs(e);
    if (isButtonCode(e.code)) {
      if (e.value !== 0 && e.value !== 1) return;
      this.keys.push({ kind: 'button', t, device: this.device, button: buttonName(e.code), action: e.value === 1 ? 'down' : 'up' });
    } else {
      const action = e.value === 0 ? 'up' : e.value === 1 ? 'down' : e.value === 2 ? 'repeat' : undefined;
      if (action === undefined) return;
      const native = this.scancode === undefined ? { evdev: e.code } : { evdev: e.code, scancode: this.scancode };
      this.scancode = undefined;
      this.keys.push({ kind: 'key', t, device: this.device, key: keyName(e.code), action, native });
    }
    if (this.keys.length >= MAX_FRAME_KEYS) this.emitKeys(out);
  }

  /** Keys and buttons of the frame; modifiers are applied here, so a dropped frame never changes them. */
  private emitKeys(out: CapturedEvent[]): void {
    for (const k of this.keys) {
      if (k.kind === 'button') {
        out.push(this.absDevice ? { ...k, x: this.absX, y: this.absY } : k);
        continue;
      }
      const code = k.native?.evdev ?? 0;
      if (k.action !== 'repeat') this.modifiers.key(this.device, code, k.action === 'down');
      out.push({ ...k, modifiers: this.modifiers.list() });
    }
    this.keys = [];
  }

  private rel(e: RawInputEvent): void {
    switch (e.code) {
      case C.REL_X: this.relX += e.value; this.relSeen = true; break;
      case C.REL_Y: this.relY += e.value; this.relSeen = true; break;
      case C.REL_WHEEL: this.wheel.dy -= e.value; this.wheel.seen = true; break;
      case C.REL_HWHEEL: this.wheel.dx += e.value; this.wheel.seen = true; break;
      case C.REL_WHEEL_HI_RES: this.wheel.hiDy -= e.value; this.wheel.hiSeen = true; break;
      case C.REL_HWHEEL_HI_RES: this.wheel.hiDx += e.value; this.wheel.hiSeen = true; break;
      default: break;
    }
  }

  private abs(e: RawInputEvent): void {
    if (e.code === C.ABS_X) this.absX = e.value;
    else if (e.code === C.ABS_Y) this.absY = e.value;
    else return;
    this.absSeen = true;
    this.absDevice = true;
  }

  private flush(t: number, out: CapturedEvent[]): void {
    if (this.relSeen) out.push({ kind: 'rel', t, device: this.device, dx: this.relX, dy: this.relY });
    if (this.absSeen) {
      const abs: CapturedEvent = { kind: 'abs', t, device: this.device, x: this.absX, y: this.absY };
      if (this.absRange !== undefined) abs.range = this.absRange;
      out.push(abs);
    }
    this.emitKeys(out);
    const w = this.wheel;
    if (w.seen || w.hiSeen) {
      const wheel: CapturedEvent = { kind: 'wheel', t, device: this.device, dx: w.dx, dy: w.dy };
      if (w.hiSeen) wheel.hiRes = { dx: w.hiDx, dy: w.hiDy };
      out.push(wheel);
    }
    this.resetFrame();
  }

  private resetFrame(): void {
    this.keys = [];
    this.scancode = undefined;
    this.relX = 0;
    this.relY = 0;
    this.relSeen = false;
    this.wheel = { dx: 0, dy: 0, hiDx: 0, hiDy: 0, seen: false, hiSeen: false };
    this.absSeen = false;
  }
}
