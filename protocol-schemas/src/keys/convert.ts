/**
 * Named conversions between the canonical key id and each code system, thin
 * wrappers over table.ts, plus the set-1 byte and QEMU qnum encodings. Hand-written:
 * no key codes live here, only the encoding rules.
 *
 * keyFrom*(code) returns the primary key or undefined for an unknown code;
 * keysFrom*(code) returns every candidate (primary first) where the data shares a
 * code between keys. keyTo*(id) returns the key's primary code or undefined when it
 * has none, and throws ATP_KEY_UNKNOWN for an id that is not in the table.
 */
import { keyFromCode, keysFromCode, keyToCode, keyToCodes, requireKeyInfo } from './table.js';
import type { KeyId } from './types.js';

/** Linux evdev code. Every key has one. */
export function keyFromEvdev(code: number): KeyId | undefined { return keyFromCode('evdev', code); }
export function keyToEvdev(id: string): number { return requireKeyInfo(id).evdev; }

/** QEMU QKeyCode ('ctrl_r', 'kp_enter'). */
export function keyFromQcode(qcode: string): KeyId | undefined { return keyFromCode('qcode', qcode); }
export function keyToQcode(id: string): string | undefined { return keyToCode('qcode', id); }

/** DOM KeyboardEvent.code ('KeyA'), case-sensitive as in the spec. */
export function keyFromDomCode(code: string): KeyId | undefined { return keyFromCode('domCode', code); }
export function keyToDomCode(id: string): string | undefined { return keyToCode('domCode', id); }

/** PC/AT set-1 make code; E0-prefixed codes as 0xe0xx (e.g. keypad Enter 0xe01c). */
export function keyFromSet1(code: number): KeyId | undefined { return keyFromCode('set1', code); }
export function keysFromSet1(code: number): readonly KeyId[] { return keysFromCode('set1', code); }
export function keyToSet1(id: string): number | undefined { return keyToCode('set1', id); }

/** The set-1 make code as the bytes a keyboard sends: [0xe0, 0x1c] for 0xe01c, [0x1e] for 0x1e. */
export function set1Bytes(id: string): number[] | undefined {
  const code = keyToSet1(id);
  if (code === undefined) return undefined;
  return code > 0xff ? [code >> 8, code & 0xff] : [code];
}

/** Inverse of set1Bytes: a one-byte code, or an 0xe0-prefixed pair. Break codes (bit 0x80) are not make codes. */
export function keyFromSet1Bytes(bytes: readonly number[]): KeyId | undefined {
  const [first, second] = bytes;
  if (bytes.length === 1 && first !== undefined) return keyFromSet1(first);
  if (bytes.length === 2 && first === 0xe0 && second !== undefined) return keyFromSet1(0xe000 | second);
  return undefined;
}

/**
 * QEMU's 'number' KeyValue (send-key {type:'number'}): the set-1 code with the E0
 * prefix folded into bit 0x80, e.g. right Ctrl 0xe01d -> 0x9d (derived in the
 * generator exactly as keycodemapdb's keymap-gen derives its qnum map).
 */
export function keyToQnum(id: string): number | undefined { return keyToCode('qnum', id); }
/** Also accepts QEMU's legacy 0xb7 for Print/SysRq. */
export function keyFromQnum(qnum: number): KeyId | undefined { return keyFromCode('qnum', qnum); }
export function keysFromQnum(qnum: number): readonly KeyId[] { return keysFromCode('qnum', qnum); }

/** USB HID usage id on the keyboard/keypad page (0x07). */
export function keyFromUsb(usage: number): KeyId | undefined { return keyFromCode('usb', usage); }
export function keyToUsb(id: string): number | undefined { return keyToCode('usb', id); }

/** Windows virtual-key code. Left/right-specific VKs are primary (VK_LCONTROL before VK_CONTROL). */
export function keyFromVk(vk: number): KeyId | undefined { return keyFromCode('win32Vk', vk); }
export function keysFromVk(vk: number): readonly KeyId[] { return keysFromCode('win32Vk', vk); }
export function keyToVk(id: string): number | undefined { return keyToCode('win32Vk', id); }

/** X11 keysym (US layout symbols). keyToKeysyms lists the unshifted symbol first. */
export function keyFromKeysym(keysym: number): KeyId | undefined { return keyFromCode('keysym', keysym); }
export function keysFromKeysym(keysym: number): readonly KeyId[] { return keysFromCode('keysym', keysym); }
export function keyToKeysyms(id: string): readonly number[] { return keyToCodes('keysym', id); }
