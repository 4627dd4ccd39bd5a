/**
 * Types of the cross-code key table. Hand-written: these are the shapes that the
 * generator (scripts/gen-keytable.ts) emits into keytable.gen.ts and that the
 * lookup module (table.ts) exposes; they hold no data.
 */

/**
 * Canonical key id: the Linux evdev name (`KEY_A`, `KEY_LEFTSHIFT`, `BTN_LEFT`).
 * Evdev codes that keycodemapdb lists without a Linux name get `KEY_UNNAMED_<code>`.
 */
export type KeyId = `KEY_${string}` | `BTN_${string}`;

/** Value type of each code system the table converts to and from. */
export interface CodeValues {
  /** Linux input event code (linux/input.h). */
  evdev: number;
  /** QEMU QKeyCode name ('a', 'ctrl_r', 'kp_enter'), as used by QMP send-key / input-send-event. */
  qcode: string;
  /** UI Events KeyboardEvent.code ('KeyA', 'ShiftLeft'). */
  domCode: string;
  /** PC/AT scan code set 1 make code; E0-prefixed codes are written 0xe0xx. */
  set1: number;
  /** PC/AT scan code set 2 make code; E0-prefixed codes are written 0xe0xx. */
  set2: number;
  /** USB HID usage id on the keyboard/keypad page (0x07). */
  usb: number;
  /** Windows virtual-key code. */
  win32Vk: number;
  /** X11 keysym (US layout; symbols, not keys: use with care). */
  keysym: number;
  /** XKB key name ('AC01'). */
  xkbName: string;
  /** macOS virtual key code (Carbon kVK_*). */
  macos: number;
  /** QEMU "number" KeyValue: set-1 code with the E0 prefix folded into bit 0x80. */
  qnum: number;
}

export type CodeSystem = keyof CodeValues;

/** Every code system, in the order the generated file lists them. */
export const CODE_SYSTEMS = [
  'evdev', 'qcode', 'domCode', 'set1', 'set2', 'usb', 'win32Vk', 'keysym', 'xkbName', 'macos', 'qnum',
] as const satisfies readonly CodeSystem[];

/** One key of the table. Optional fields are absent when keycodemapdb has no value. */
export interface KeyInfo {
  readonly id: KeyId;
  readonly evdev: number;
  /** Other Linux names for the same evdev code (e.g. KEY_SHIFT, BTN_MOUSE). */
  readonly aliases: readonly string[];
  readonly qcode?: string;
  readonly domCode?: string;
  readonly set1?: number;
  readonly set2?: number;
  readonly usb?: number;
  readonly win32Vk?: number;
  /** Name of `win32Vk` (e.g. 'VK_LCONTROL'). */
  readonly win32Name?: string;
  /** X keysyms, unshifted first. */
  readonly keysyms: readonly number[];
  /** keysym names ('XK_a'), parallel to `keysyms`. */
  readonly keysymNames: readonly string[];
  readonly xkbName?: string;
  readonly macos?: number;
  readonly qnum?: number;
  /**
   * Every value the data gives this key in each system, the primary one first
   * (the singular fields above are these primaries). A key has several values in
   * a column when keycodemapdb lists several rows for it, e.g. KEY_LEFTCTRL has
   * win32Vk [VK_LCONTROL, VK_CONTROL].
   */
  readonly codes: { readonly [S in CodeSystem]: readonly CodeValues[S][] };
  /** Windows VK names, parallel to `codes.win32Vk`. */
  readonly win32Names: readonly string[];
}

type OneOrMany<T> = T | readonly T[];

/** One key as the generator writes it: a single value, or an array when the data gives several (primary first). */
export interface KeyRow {
  readonly id: KeyId;
  readonly evdev: number;
  readonly aliases?: readonly string[];
  readonly qcode?: OneOrMany<string>;
  readonly domCode?: OneOrMany<string>;
  readonly set1?: OneOrMany<number>;
  readonly set2?: OneOrMany<number>;
  readonly usb?: OneOrMany<number>;
  readonly win32Vk?: OneOrMany<number>;
  readonly win32Name?: OneOrMany<string>;
  readonly keysym?: OneOrMany<number>;
  readonly keysymName?: OneOrMany<string>;
  readonly xkbName?: OneOrMany<string>;
  readonly macos?: OneOrMany<number>;
  readonly qnum?: OneOrMany<number>;
}

/** A code that the data gives to several keys; `keys[0]` is the primary (what keyFrom* returns). */
export interface KeyAmbiguity {
  readonly system: CodeSystem;
  readonly value: number | string;
  readonly keys: readonly KeyId[];
}
