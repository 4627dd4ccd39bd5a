/**
 * The SPICE injector: input as a SPICE thin client sends it, through QEMU's
 * built-in SPICE server (display/spice/client.ts), on the injector kit
 * (kit.ts: ids, serialisation, stamps, closed checks, failure details).
 *
 * Keys: KEY_DOWN / KEY_UP with the key's PC/AT set-1 make code from the key
 * table (E0-prefixed keys included); a key without a set-1 code, or whose code
 * cannot travel (0xF1/0xF2 read as key-ups), is ATP_INJECT_KEY_UNSUPPORTED.
 * On connect, KEY_MODIFIERS with no lock key set (unless `lockModifiers` says
 * otherwise): spice-server then presses and releases Scroll/Num/Caps Lock
 * where its belief of the guest's state differs (that belief follows the
 * guest's LED updates and the last client's request; measured), so every run
 * starts from the same lock state as far as the server knows. spice-server
 * ignores the E0 prefix here, so Pause/Break (E0 46) flips its Scroll Lock belief.
 *
 * Pointer, client mouse mode (the default when the server offers it): `move` is MOUSE_POSITION at the
 * surface coordinate that QEMU scales back to the intended suite pixel
 * (display/spice/pointer-map.ts). The surface is `options.surface`, else the
 * primary display surface the display channel announces (followed when the
 * guest changes mode). `moveBy` is ATP_INJECT_ACTION_UNSUPPORTED there.
 * Server mouse mode: `move` is MOUSE_MOTION by the difference from the
 * position this injector last sent (starting at 0,0) and is recorded as the
 * `moveBy` it really was (sentAs), so verification checks the displacement;
 * `moveBy` is MOUSE_MOTION as given; both in chunks (motionChunks). If the server leaves the mode the
 * injector was opened with, pointer actions fail ATP_SPICE_MOUSE_MODE.
 *
 * Buttons: MOUSE_PRESS / MOUSE_RELEASE with the buttons-state mask after the
 * change. Wheel: per notch, a press and release of SPICE's UP (dy < 0) or
 * DOWN button; SPICE has no horizontal wheel (dx ≠ 0 is ATP_INJECT_ACTION_UNSUPPORTED).
 *
 * One batch per action; sentAt is stamped right before its first message is
 * written (after any wait for a motion-ack slot).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError, getKey, type KeyId } from '@atp/protocol';
import { hostNow } from '../util/clock.js';
import { describeEndpoint, type DisplayEndpoint } from '../display/endpoint.js';
import { SpiceClient, type SurfaceSize } from '../display/spice/client.js';
import { ButtonMask, MouseButton, type SpiceMouseMode } from '../display/spice/constants.js';
import { scancodeToKeyCode, spiceSendableScancode, type InputsClientMessage } from '../display/spice/inputs-codec.js';
import { surfaceCoordinate } from '../display/spice/pointer-map.js';
import type { InputAction, PointerButton, ScreenSize } from './actions.js';
import { KitInjector, type InjectorBackend, type PlannedBatch } from './kit.js';

export interface SpiceInjectorOptions {
  /**
   * 'client' (absolute positions; needs a tablet the guest uses), 'server'
   * (relative motion), or 'auto' (default): client mode when the server offers
   * it, else server mode, so keys go through whatever pointer the VM has.
   * An explicit mode the server does not offer is ATP_SPICE_MOUSE_MODE.
   */
  mouseMode?: SpiceMouseMode | 'auto';
  /** Client mode: the guest's primary surface size; default: learned from the display channel. */
  surface?: SurfaceSize;
  /** Lock keys (SPICE_KEYBOARD_MODIFIER_FLAGS: 1 scroll, 2 num, 4 caps) to sync on connect; 'keep' sends none. Default 0. */
  lockModifiers?: number | 'keep';
  /** Connect, handshake and motion-ack deadline (default 10 000 ms). */
  timeoutMs?: number;
}

interface SpiceBatch extends PlannedBatch {
  readonly messages: readonly InputsClientMessage[];
}

export function spiceKeyCode(key: KeyId, down: boolean): number {
  const info = getKey(key);
  if (info === undefined) throw new AtpError('ATP_KEY_UNKNOWN', `Key ${key} is not in the key table`, { details: { key } });
  if (info.set1 === undefined || !spiceSendableScancode(info.set1)) {
    const why = info.set1 === undefined ? 'has no PC/AT set-1 scancode' : `has set-1 code 0x${info.set1.toString(16)}, which SPICE would read as a key release`;
    throw new AtpError('ATP_INJECT_KEY_UNSUPPORTED', `Key ${key} ${why}: the SPICE injector cannot send it`, { details: { key, injector: 'spice' } });
  }
  return scancodeToKeyCode(info.set1, down);
}

const BUTTONS: Readonly<Record<PointerButton, { button: number; mask: number }>> = {
  left: { button: MouseButton.left, mask: ButtonMask.left },
  middle: { button: MouseButton.middle, mask: ButtonMask.middle },
  right: { button: MouseButton.right, mask: ButtonMask.right },
  side: { button: MouseButton.side, mask: ButtonMask.side },
  extra: { button: MouseButton.extra, mask: ButtonMask.extra },
};

function unsupported(action: InputAction, why: string): AtpError {
  return new AtpError('ATP_INJECT_ACTION_UNSUPPORTED', `The SPICE injector cannot send ${JSON.stringify(action)}: ${why}`, { details: { action, injector: 'spice' } });
}

/**
 * Relative motion as a thin client sends it: chunks of at most 127 units per
 * axis, then a zero motion. QEMU's PS/2 mouse (where server-mode motion goes)
 * sends at most ±127 per packet and only as many packets as its 16-byte queue
 * holds (four); the rest of a larger delta waits in QEMU until the next
 * pointer event. One 1023-unit MOUSE_MOTION reached a guest as 508 (seen on
 * the lab VM). Each chunk is one packet, sent MOTION_CHUNK_GAP_MS apart so the
 * guest drains the queue; the closing zero motion makes QEMU flush anything
 * still held back.
 */
export function motionChunks(dx: number, dy: number, buttons: number): InputsClientMessage[] {
  const n = Math.max(1, Math.ceil(Math.max(Math.abs(dx), Math.abs(dy)) / PS2_MAX_DELTA));
  const chunks: InputsClientMessage[] = [];
  for (let i = 0; i < n; i++) {
    const cx = Math.round((dx * (i + 1)) / n) - Math.round((dx * i) / n);
    const cy = Math.round((dy * (i + 1)) / n) - Math.round((dy * i) / n);
    chunks.push({ kind: 'mouseMotion', dx: cx, dy: cy, buttons });
  }
  if (n > 1) chunks.push({ kind: 'mouseMotion', dx: 0, dy: 0, buttons });
  return chunks;
}

/** QEMU's PS/2 mouse packet limit per axis. */
const PS2_MAX_DELTA = 127;
/** Between two key events (keySlot says why): caps SPICE typing at 500 key events/s, 250 keystrokes/s. */
export const KEY_EVENT_GAP_MS = 2;
/** Between two motion chunks: a guest timer tick and then some, so a TCG guest has read the previous packet. */
export const MOTION_CHUNK_GAP_MS = 10;

/** Plans and sends; keeps the button mask and (server mode) the pointer position this injector last sent. */
export class SpiceBackend implements InjectorBackend<SpiceBatch> {
  readonly name = 'spice';
  private buttons = 0;
  private position = { x: 0, y: 0 };
  private lastKeyAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly client: SpiceClient,
    readonly mouseMode: SpiceMouseMode,
    private readonly surface: SurfaceSize | undefined,
  ) {}

  private checkMode(): void {
    const current = this.client.mouseMode;
    if (current !== this.mouseMode) {
      throw new AtpError('ATP_SPICE_MOUSE_MODE', `the SPICE server switched to ${current ?? 'no'} mouse mode; this injector sends ${this.mouseMode}-mode pointer events`, {
        details: { asked: this.mouseMode, current },
      });
    }
  }

  private surfaceNow(): SurfaceSize {
    const surface = this.surface ?? this.client.surface;
    if (surface === undefined) throw new AtpError('ATP_SPICE_MOUSE_MODE', 'the SPICE server has no primary display surface now: client-mode positions have nothing to scale to', { details: {} });
    return surface;
  }

  private messages(action: InputAction, screen: ScreenSize): { messages: InputsClientMessage[]; sentAs?: InputAction } {
    switch (action.kind) {
      case 'key':
        return { messages: [{ kind: action.down ? 'keyDown' : 'keyUp', code: spiceKeyCode(action.key, action.down) }] };
      case 'button': {
        const { button, mask } = BUTTONS[action.button];
        this.buttons = action.down ? this.buttons | mask : this.buttons & ~mask;
        return { messages: [{ kind: action.down ? 'mousePress' : 'mouseRelease', button, buttons: this.buttons }] };
      }
      case 'wheel': {
        if (action.dx !== 0) throw unsupported(action, 'SPICE has no horizontal wheel');
        if (!Number.isInteger(action.dy)) throw unsupported(action, 'wheel notches must be whole numbers');
        const [button, mask] = action.dy < 0 ? [MouseButton.up, ButtonMask.up] : [MouseButton.down, ButtonMask.down];
        const notch: InputsClientMessage[] = [
          { kind: 'mousePress', button, buttons: this.buttons | mask },
          { kind: 'mouseRelease', button, buttons: this.buttons },
        ];
        return { messages: Array.from({ length: Math.abs(action.dy) }, () => notch).flat() };
      }
      case 'move': {
        this.checkMode();
        if (this.mouseMode === 'client') {
          const surface = this.surfaceNow();
          const x = surfaceCoordinate(action.x, screen.width, surface.width);
          const y = surfaceCoordinate(action.y, screen.height, surface.height);
          return { messages: [{ kind: 'mousePosition', x, y, buttons: this.buttons, displayId: 0 }] };
        }
        const to = { x: Math.round(action.x), y: Math.round(action.y) };
        const sentAs: InputAction = { kind: 'moveBy', dx: to.x - this.position.x, dy: to.y - this.position.y };
        this.position = to;
        return { messages: motionChunks(sentAs.dx, sentAs.dy, this.buttons), sentAs };
      }
      case 'moveBy': {
        this.checkMode();
        if (this.mouseMode === 'client') throw unsupported(action, 'client mouse mode takes absolute positions only (open the injector in server mode)');
        if (!Number.isInteger(action.dx) || !Number.isInteger(action.dy)) throw unsupported(action, 'relative motion must be whole device units');
        this.position = { x: this.position.x + action.dx, y: this.position.y + action.dy };
        return { messages: motionChunks(action.dx, action.dy, this.buttons) };
      }
    }
  }

  plan(actions: readonly InputAction[], screen: ScreenSize): SpiceBatch[] {
    return actions.map((action, index) => {
      const { messages, sentAs } = this.messages(action, screen);
      return { actionIndexes: [index], messages, ...(sentAs === undefined ? {} : { sentAs: [sentAs] }) };
    });
  }

  async deliver(batch: SpiceBatch, markSent: (at: number) => void): Promise<void> {
    let stamped = false;
    const stamp = (): void => {
      if (stamped) return;
      stamped = true;
      markSent(hostNow());
    };
    let previous: InputsClientMessage | undefined;
    for (const message of batch.messages) {
      // Consecutive motion chunks leave the guest time to drain QEMU's PS/2 queue (motionChunks says why).
      if (previous?.kind === 'mouseMotion' && message.kind === 'mouseMotion') await sleep(MOTION_CHUNK_GAP_MS);
      if (message.kind === 'keyDown' || message.kind === 'keyUp') await this.keySlot();
      await this.client.sendInput(message, stamp);
      previous = message;
    }
  }

  /**
   * Key events at most one per KEY_EVENT_GAP_MS, as a PS/2 wire carries them
   * (a byte takes about a millisecond there). spice-server hands QEMU a burst of key
   * messages within one main-loop turn, and QEMU's PS/2 keyboard keeps 16
   * bytes for the guest and drops the rest silently: a CI run lost a key-up
   * that way under closed-loop pacing (8 keystrokes in flight) on a loaded
   * host. Spaced, the guest would have to stall for 32 ms to lose one.
   */
  private async keySlot(): Promise<void> {
    const wait = this.lastKeyAt + KEY_EVENT_GAP_MS - performance.now();
    if (wait > 0) await sleep(wait);
    this.lastKeyAt = performance.now();
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** An Injector over SPICE, with what the handshake found. */
export class SpiceInjector extends KitInjector<SpiceBatch> {
  constructor(
    readonly spice: SpiceBackend,
    screen: ScreenSize,
    /** The lock keys the server reported at connect and the state this injector asked for (undefined with 'keep'). */
    readonly lockSync: { reported: number; asked: number } | undefined,
  ) {
    super(spice, screen);
  }

  /** ms from the first connect to the inputs channel ready (display surface included when it is watched). */
  get handshakeMs(): number {
    return this.spice.client.handshakeMs;
  }

  get mouseMode(): SpiceMouseMode {
    return this.spice.mouseMode;
  }
}

/** Connects (link, ticket, main + inputs channels, mouse mode, lock sync) and returns the injector; `mouseMode` says which mode it got. */
export async function openSpiceInjector(endpoint: DisplayEndpoint, screen: ScreenSize, options: SpiceInjectorOptions = {}): Promise<SpiceInjector> {
  const asked = options.mouseMode ?? 'auto';
  const client = await SpiceClient.connect(endpoint, {
    mouseMode: asked,
    watchDisplay: asked !== 'server' && options.surface === undefined,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  try {
    const locks = options.lockModifiers ?? 0;
    const reported = client.lockModifiers;
    if (locks !== 'keep') await client.sendInput({ kind: 'keyModifiers', modifiers: locks });
    const mouseMode: SpiceMouseMode = asked === 'auto' ? (client.mouseMode ?? 'server') : asked;
    return new SpiceInjector(new SpiceBackend(client, mouseMode, options.surface), screen, locks === 'keep' ? undefined : { reported, asked: locks });
  } catch (error) {
    await client.close();
    if (error instanceof AtpError) throw error;
    throw new AtpError('ATP_SPICE_PROTOCOL', `SPICE injector setup for ${describeEndpoint(endpoint)} failed: ${String(error)}`, { cause: error });
  }
}
