/**
 * The VNC injector: input as a VNC thin client sends it, through QEMU's VNC
 * server (display/vnc/client.ts), on the injector kit (kit.ts: ids,
 * serialisation, stamps, closed checks, failure details).
 *
 * Keys. `extended` (the default whenever the server announced it, `auto`):
 * the QEMU extended key event carrying the key's XT keycode (the key table's
 * qnum: set-1 with E0 folded into bit 0x80) plus its unshifted keysym, so the
 * guest's own layout decides the character, exactly as with a physical
 * keyboard (QEMU uses the keysym instead only when it runs with `-k`).
 * `keysym` (the fallback for servers without it): a KeyEvent with the key's
 * unshifted keysym from the key table (Super_L/R for the Windows keys and
 * KP_Multiply for keypad `*`, as an X11 client sends them, where the table
 * holds Meta_L/R and `multiply`). QEMU maps a keysym to a scancode through its
 * `-k` keymap (en-us by default) and never adds Shift: a shifted character
 * comes out only because the Shift key's own event was sent before it, and
 * keys the keymap lacks or reaches from another key (the ISO key KEY_102ND
 * comes out as backslash) arrive as that other key or not at all. Keys without
 * an XT code (extended) or keysym (keysym mode) are ATP_INJECT_KEY_UNSUPPORTED.
 *
 * Pointer. Absolute PointerEvents at the surface coordinate that maps back to
 * the intended suite pixel (display/vnc/pointer-map.ts; the surface size
 * follows ServerInit and DesktopSize). Every PointerEvent carries the button
 * mask and a position, so a button or wheel before any move also puts the
 * pointer at (0, 0). Buttons: left 1, middle 2, right 4 in the mask; side and
 * extra have no RFB button QEMU 7.2 takes (it ignores mask bits 0x20, 0x40
 * and 0x80, measured) and are ATP_INJECT_ACTION_UNSUPPORTED, as is moveBy
 * (RFB has no relative motion). Wheel: each notch is a press and a release of button 4/5 (dy, up/
 * down) or 6/7 (dx, left/right); QEMU 7.2 drops 6/7 (measured), so horizontal
 * notches are sent but do not reach its guest. QEMU gives the guest absolute
 * positions only while the VM's active pointing device is absolute (a tablet
 * the guest drives); otherwise it turns these events into relative motion.
 *
 * Batching: each send() is one write of all its messages; sentAt is stamped
 * right before it. QEMU's `key-delay-ms` (default 10) then spaces key events
 * 10 ms apart in the VM (measured 91-99 events/s, about 50 keys/s; 0 passes
 * over 100 000 events/s), and pointer events overtake keys still queued there:
 * a lab VM's VNC server should run with key-delay-ms=0.
 */
import { AtpError, getKey, type KeyId } from '@atp/protocol';
import { hostNow } from '../util/clock.js';
import { connectVnc, type VncClient, type VncTimings } from '../display/vnc/client.js';
import { describeEndpoint, type DisplayEndpoint } from '../display/endpoint.js';
import type { ClientMessage } from '../display/vnc/messages-codec.js';
import { surfaceCoordinate } from '../display/vnc/pointer-map.js';
import type { InputAction, PointerButton, ScreenSize } from './actions.js';
import { KitInjector, type InjectorBackend, type PlannedBatch } from './kit.js';

export type VncKeyMode = 'extended' | 'keysym';

export interface VncInjectorOptions {
  /** 'auto' (default): extended when the server announced it, else keysym. */
  keys?: VncKeyMode | 'auto';
  /** Connect + handshake deadline (default 10 000 ms). */
  timeoutMs?: number;
}

interface VncBatch extends PlannedBatch {
  readonly messages: readonly ClientMessage[];
}

/** Keysyms an X11 client on a pc105 keyboard sends where the key table holds another one. */
const KEYSYM_OVERRIDES: Readonly<Partial<Record<KeyId, number>>> = {
  KEY_LEFTMETA: 0xffeb, // Super_L (table: Meta_L, which QEMU's en-us keymap puts on Alt)
  KEY_RIGHTMETA: 0xffec, // Super_R
  KEY_KPASTERISK: 0xffaa, // KP_Multiply (table: multiply, U+00D7)
};

const BUTTON_BITS: Readonly<Record<PointerButton, number | undefined>> = { left: 1, middle: 2, right: 4, side: undefined, extra: undefined };
const WHEEL_BITS = { up: 0x08, down: 0x10, left: 0x20, right: 0x40 } as const;

function keyCodes(key: KeyId): { keycode?: number; keysym?: number } {
  const info = getKey(key);
  if (info === undefined) throw new AtpError('ATP_KEY_UNKNOWN', `Key ${key} is not in the key table`, { details: { key } });
  const keysym = KEYSYM_OVERRIDES[info.id] ?? info.keysyms[0];
  return { ...(info.qnum === undefined ? {} : { keycode: info.qnum }), ...(keysym === undefined ? {} : { keysym }) };
}

export function keyMessage(key: KeyId, down: boolean, mode: VncKeyMode): ClientMessage {
  const { keycode, keysym } = keyCodes(key);
  if (mode === 'extended') {
    if (keycode === undefined) throw new AtpError('ATP_INJECT_KEY_UNSUPPORTED', `Key ${key} has no XT keycode (qnum): the VNC extended key event cannot carry it`, { details: { key, injector: 'vnc' } });
    return { type: 'qemuExtendedKeyEvent', down, keysym: keysym ?? 0, keycode };
  }
  if (keysym === undefined) throw new AtpError('ATP_INJECT_KEY_UNSUPPORTED', `Key ${key} has no X keysym: a VNC KeyEvent cannot carry it (the server has no extended key event)`, { details: { key, injector: 'vnc' } });
  return { type: 'keyEvent', down, keysym };
}

function unsupported(action: InputAction, why: string): AtpError {
  return new AtpError('ATP_INJECT_ACTION_UNSUPPORTED', `The vnc injector cannot send ${JSON.stringify(action)}: ${why}`, { details: { action, injector: 'vnc' } });
}

function integer(value: number, field: string): number {
  if (!Number.isSafeInteger(value)) throw new AtpError('ATP_SCHEMA_INVALID', `${field} must be an integer, got ${value}`, { details: { field, value } });
  return value;
}

function finite(value: number, field: string): number {
  if (!Number.isFinite(value)) throw new AtpError('ATP_SCHEMA_INVALID', `${field} must be a finite number, got ${value}`, { details: { field, value } });
  return value;
}

/** Pointer state carried between sends: RFB restates the mask and position in every PointerEvent. */
interface PointerState {
  mask: number;
  x: number;
  y: number;
}

/** The messages for `actions`, from pointer state `start`; returns the state after them. Pure. */
export function planMessages(actions: readonly InputAction[], screen: ScreenSize, surface: { width: number; height: number }, mode: VncKeyMode, start: PointerState): { messages: ClientMessage[]; end: PointerState } {
  const s = { ...start };
  const messages: ClientMessage[] = [];
  const pointer = (): void => void messages.push({ type: 'pointerEvent', buttonMask: s.mask, x: s.x, y: s.y });
  for (const action of actions) {
    switch (action.kind) {
      case 'key':
        messages.push(keyMessage(action.key, action.down, mode));
        break;
      case 'move':
        s.x = surfaceCoordinate(finite(action.x, 'move.x'), screen.width, surface.width);
        s.y = surfaceCoordinate(finite(action.y, 'move.y'), screen.height, surface.height);
        pointer();
        break;
      case 'button': {
        const bit = BUTTON_BITS[action.button];
        if (bit === undefined) throw unsupported(action, `RFB has no ${action.button} button that QEMU takes (button mask 1, 2, 4 = left, middle, right; QEMU 7.2 ignores 0x20-0x80)`);
        s.mask = action.down ? s.mask | bit : s.mask & ~bit;
        pointer();
        break;
      }
      case 'wheel': {
        const notches = (count: number, negative: number, positive: number): void => {
          for (let i = 0; i < Math.abs(count); i++) {
            const bit = count < 0 ? negative : positive;
            messages.push({ type: 'pointerEvent', buttonMask: s.mask | bit, x: s.x, y: s.y });
            pointer();
          }
        };
        notches(integer(action.dy, 'wheel.dy'), WHEEL_BITS.up, WHEEL_BITS.down);
        notches(integer(action.dx, 'wheel.dx'), WHEEL_BITS.left, WHEEL_BITS.right);
        break;
      }
      case 'moveBy':
        throw unsupported(action, 'RFB has no relative pointer motion (move with absolute pixels instead)');
    }
  }
  return { messages, end: s };
}

function vncBackend(client: VncClient, mode: VncKeyMode): InjectorBackend<VncBatch> {
  let state: PointerState = { mask: 0, x: 0, y: 0 };
  return {
    name: 'vnc',
    plan(actions, screen) {
      if (actions.length === 0) return [];
      const { messages, end } = planMessages(actions, screen, client.surface, mode, state);
      state = end;
      return [{ actionIndexes: actions.map((_, i) => i), messages }];
    },
    deliver: (batch, markSent) => client.send(batch.messages, () => markSent(hostNow())),
    close: () => client.close(),
  };
}

export class VncInjector extends KitInjector<VncBatch> {
  constructor(
    readonly client: VncClient,
    screen: ScreenSize,
    readonly keyMode: VncKeyMode,
    /** Connect, handshake and first-answer times of this injector's connection. */
    readonly timings: VncTimings,
  ) {
    super(vncBackend(client, keyMode), screen);
  }
}

/** Connects to the VNC server (authenticating with endpoint.password) and returns an injector over it. */
export async function openVncInjector(endpoint: DisplayEndpoint, screen: ScreenSize, options: VncInjectorOptions = {}): Promise<VncInjector> {
  const { client, timings } = await connectVnc(endpoint, { ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
  const wanted = options.keys ?? 'auto';
  if (wanted === 'extended' && !client.extendedKeyEvents) {
    await client.close();
    const where = describeEndpoint(endpoint);
    throw new AtpError('ATP_VNC_PROTOCOL', `the VNC server ${where} did not announce the QEMU extended key event (-258); use keys: 'keysym' or 'auto'`, { details: { endpoint: where, keys: wanted } });
  }
  const mode: VncKeyMode = wanted === 'auto' ? (client.extendedKeyEvents ? 'extended' : 'keysym') : wanted;
  try {
    return new VncInjector(client, screen, mode, timings);
  } catch (error) {
    await client.close();
    throw error;
  }
}
