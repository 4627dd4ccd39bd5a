/**
 * The SPICE inputs channel messages (spice.proto InputsChannel), both
 * directions, and the scancode packing of KEY_DOWN / KEY_UP. Pure.
 *
 * Client: KEY_DOWN / KEY_UP {code u32}, KEY_MODIFIERS {modifiers u16},
 * KEY_SCANCODE {raw bytes}, MOUSE_MOTION {dx i32, dy i32, buttons_state u16},
 * MOUSE_POSITION {x u32, y u32, buttons_state u16, display_id u8},
 * MOUSE_PRESS / MOUSE_RELEASE {button u8, buttons_state u16}.
 * Server: INIT {keyboard_modifiers u16}, KEY_MODIFIERS {modifiers u16},
 * MOUSE_MOTION_ACK {} (one per SPICE_INPUT_MOTION_ACK_BUNCH motions).
 *
 * Key codes: spice-server feeds the u32 to the keyboard one byte at a time,
 * least significant first, stopping at a zero byte; QEMU treats 0xE0 as the
 * prefix of the next byte and bit 7 of a byte as "released". So a set-1 make
 * code `c` goes down as `c` and up as `c | 0x80`, and an E0-prefixed key
 * 0xE0cc goes as `0xE0 | cc << 8` (up: `0xE0 | (cc | 0x80) << 8`).
 */
import { ByteReader, ByteWriter, decodeWith, protocolError, type Decoded } from './bytes.js';
import {
  decodeBaseClientMessage,
  decodeBaseServerMessage,
  decodeFixed,
  encodeBaseClientMessage,
  encodeBaseServerMessage,
  type BaseClientMessage,
  type BaseServerMessage,
  type OtherMessage,
  type SpiceFrame,
} from './codec.js';
import { InputsMsg, InputsMsgc } from './constants.js';

export type InputsServerMessage =
  | BaseServerMessage
  | { kind: 'init'; modifiers: number }
  | { kind: 'keyModifiers'; modifiers: number }
  | { kind: 'motionAck' }
  | OtherMessage;

export type InputsClientMessage =
  | BaseClientMessage
  | { kind: 'keyDown'; code: number }
  | { kind: 'keyUp'; code: number }
  | { kind: 'keyModifiers'; modifiers: number }
  | { kind: 'keyScancode'; bytes: Uint8Array }
  | { kind: 'mouseMotion'; dx: number; dy: number; buttons: number }
  | { kind: 'mousePosition'; x: number; y: number; buttons: number; displayId: number }
  | { kind: 'mousePress'; button: number; buttons: number }
  | { kind: 'mouseRelease'; button: number; buttons: number };

/** Can this set-1 make code (0xcc or 0xE0cc) travel as a SPICE key code? Make codes with bit 7 set (0xF1/0xF2) would read as key-ups. */
export function spiceSendableScancode(set1: number): boolean {
  const low = set1 & 0xff;
  const prefix = set1 >>> 8;
  return Number.isInteger(set1) && (prefix === 0 || prefix === 0xe0) && low >= 0x01 && low <= 0x7f;
}

/** The KEY_DOWN / KEY_UP code for a set-1 make code; throws ATP_SPICE_PROTOCOL for codes that cannot travel (check spiceSendableScancode first). */
export function scancodeToKeyCode(set1: number, down: boolean): number {
  if (!spiceSendableScancode(set1)) {
    throw protocolError(`set-1 code 0x${set1.toString(16)} cannot be sent as a SPICE key code`, { field: 'code', value: set1 });
  }
  const byte = (set1 & 0x7f) | (down ? 0 : 0x80);
  return set1 >>> 8 === 0xe0 ? (0xe0 | (byte << 8)) >>> 0 : byte;
}

/** The scancode bytes a key code carries, as spice-server reads them (low byte first, up to a zero byte). */
export function keyCodeBytes(code: number): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const b = (code >>> (8 * i)) & 0xff;
    if (b === 0) break;
    bytes.push(b);
  }
  return bytes;
}

export function encodeInputsClientMessage(m: InputsClientMessage): SpiceFrame {
  const w = new ByteWriter();
  switch (m.kind) {
    case 'keyDown':
      return { type: InputsMsgc.keyDown, body: w.u32(m.code, 'code').finish() };
    case 'keyUp':
      return { type: InputsMsgc.keyUp, body: w.u32(m.code, 'code').finish() };
    case 'keyModifiers':
      return { type: InputsMsgc.keyModifiers, body: w.u16(m.modifiers, 'modifiers').finish() };
    case 'keyScancode':
      return { type: InputsMsgc.keyScancode, body: w.bytes(m.bytes).finish() };
    case 'mouseMotion':
      return { type: InputsMsgc.mouseMotion, body: w.i32(m.dx, 'dx').i32(m.dy, 'dy').u16(m.buttons, 'buttons_state').finish() };
    case 'mousePosition':
      w.u32(m.x, 'x').u32(m.y, 'y').u16(m.buttons, 'buttons_state').u8(m.displayId, 'display_id');
      return { type: InputsMsgc.mousePosition, body: w.finish() };
    case 'mousePress':
      return { type: InputsMsgc.mousePress, body: w.u8(m.button, 'button').u16(m.buttons, 'buttons_state').finish() };
    case 'mouseRelease':
      return { type: InputsMsgc.mouseRelease, body: w.u8(m.button, 'button').u16(m.buttons, 'buttons_state').finish() };
    default:
      return encodeBaseClientMessage(m);
  }
}

/** What a server reads from the inputs channel (fixed sizes, trailing bytes rejected); unknown types are an error. */
export function decodeInputsClientMessage(type: number, body: Uint8Array): Decoded<InputsClientMessage> {
  const base = decodeBaseClientMessage(type, body);
  if (base !== undefined) return base;
  switch (type) {
    case InputsMsgc.keyDown:
      return decodeFixed(body, 'inputs KEY_DOWN', (r) => ({ kind: 'keyDown', code: r.u32('code') }));
    case InputsMsgc.keyUp:
      return decodeFixed(body, 'inputs KEY_UP', (r) => ({ kind: 'keyUp', code: r.u32('code') }));
    case InputsMsgc.keyModifiers:
      return decodeFixed(body, 'inputs KEY_MODIFIERS', (r) => ({ kind: 'keyModifiers', modifiers: r.u16('modifiers') }));
    case InputsMsgc.keyScancode:
      return { ok: true, value: { kind: 'keyScancode', bytes: body.slice() } };
    case InputsMsgc.mouseMotion:
      return decodeFixed(body, 'inputs MOUSE_MOTION', (r) => ({ kind: 'mouseMotion', dx: r.i32('dx'), dy: r.i32('dy'), buttons: r.u16('buttons_state') }));
    case InputsMsgc.mousePosition:
      return decodeFixed(body, 'inputs MOUSE_POSITION', (r) => ({
        kind: 'mousePosition',
        x: r.u32('x'),
        y: r.u32('y'),
        buttons: r.u16('buttons_state'),
        displayId: r.u8('display_id'),
      }));
    case InputsMsgc.mousePress:
      return decodeFixed(body, 'inputs MOUSE_PRESS', (r) => ({ kind: 'mousePress', button: r.u8('button'), buttons: r.u16('buttons_state') }));
    case InputsMsgc.mouseRelease:
      return decodeFixed(body, 'inputs MOUSE_RELEASE', (r) => ({ kind: 'mouseRelease', button: r.u8('button'), buttons: r.u16('buttons_state') }));
    default:
      return { ok: false, error: protocolError(`unknown SPICE inputs client message type ${type}`, { type }) };
  }
}

export function encodeInputsServerMessage(m: InputsServerMessage): SpiceFrame {
  const w = new ByteWriter();
  switch (m.kind) {
    case 'init':
      return { type: InputsMsg.init, body: w.u16(m.modifiers, 'keyboard_modifiers').finish() };
    case 'keyModifiers':
      return { type: InputsMsg.keyModifiers, body: w.u16(m.modifiers, 'modifiers').finish() };
    case 'motionAck':
      return { type: InputsMsg.mouseMotionAck, body: w.finish() };
    case 'other':
      return { type: m.type, body: m.body };
    default:
      return encodeBaseServerMessage(m);
  }
}

export function decodeInputsServerMessage(type: number, body: Uint8Array): Decoded<InputsServerMessage> {
  const base = decodeBaseServerMessage(type, body);
  if (base !== undefined) return base;
  const read = <T>(what: string, f: (r: ByteReader) => T): Decoded<T> => decodeWith(() => f(new ByteReader(body, what)));
  switch (type) {
    case InputsMsg.init:
      return read('inputs INIT', (r) => ({ kind: 'init', modifiers: r.u16('keyboard_modifiers') }));
    case InputsMsg.keyModifiers:
      return read('inputs KEY_MODIFIERS', (r) => ({ kind: 'keyModifiers', modifiers: r.u16('modifiers') }));
    case InputsMsg.mouseMotionAck:
      return { ok: true, value: { kind: 'motionAck' } };
    default:
      return { ok: true, value: { kind: 'other', type, body } };
  }
}
