/**
 * Parser of /proc/bus/input/devices and the device classifier, shared by the
 * guest agent (which devices to capture, `atp-agent devices`) and the host's lab
 * (finding the guest's devices). Pure: the text comes in as a string.
 * Hand-written: the format is the kernel's own (drivers/input/input.c,
 * input_devices_seq_show), one blank-line-separated block per device:
 *   I: Bus=0011 Vendor=0001 Product=0001 Version=ab41   (hex)
 *   N: Name="..."   P: Phys=...   S: Sysfs=...   U: Uniq=...
 *   H: Handlers=sysrq kbd event0 leds
 *   B: EV=120013    B: KEY=402000000 3803078f800d001 ...   (also PROP, REL, ABS, MSC, LED, ...)
 * Bitmaps are hex words of the *kernel's* word size (64 or 32 bits), most
 * significant word first, leading zero words omitted. The word size cannot always
 * be told from the text ("70000 0 0 0 0" is valid for both), so the caller passes
 * it; a word longer than 8 digits proves 64-bit and wins.
 *
 * Lines that do not parse are skipped, never thrown on: the file is the kernel's,
 * and a line format we do not know must not cost the devices we do.
 */
import type { DeviceInfo } from '../agent-events.js';
import * as C from './codes.js';

export type DeviceKind = DeviceInfo['kind'];

export interface ProcInputDevice {
  bus: number;
  vendor: number;
  product: number;
  version: number;
  name: string;
  phys: string;
  sysfs: string;
  uniq: string;
  handlers: string[];
  /** The evdev node name (event3), if the evdev handler is bound. */
  eventNode: string | undefined;
  /** Set bit numbers of each `B:` bitmap, by name (EV, KEY, REL, ABS, MSC, LED, PROP, ...). */
  bits: Record<string, ReadonlySet<number>>;
}

export interface ProcInputDevicesOptions {
  /** The kernel's word size for the bitmaps (default 64). */
  wordBits?: 32 | 64;
}

const EMPTY: ReadonlySet<number> = new Set();
const HEX_WORD = /^[0-9a-fA-F]{1,16}$/;
const EVENT_NODE = /^event\d+$/;

/** Set bits of one bitmap line, or undefined when a word is not hex or too long for the word size. */
export function parseBitmap(text: string, wordBits: 32 | 64): Set<number> | undefined {
  const words = text.trim().split(/\s+/).filter((w) => w.length > 0);
  if (words.some((w) => !HEX_WORD.test(w) || w.length > wordBits / 4)) return undefined;
  const bits = new Set<number>();
  words.reverse().forEach((word, index) => {
    const base = index * wordBits;
    for (let nibble = 0; nibble < word.length; nibble++) {
      const digit = Number.parseInt(word.charAt(word.length - 1 - nibble), 16);
      for (let b = 0; b < 4; b++) if ((digit >> b) & 1) bits.add(base + nibble * 4 + b);
    }
  });
  return bits;
}

function hex(value: string | undefined): number {
  if (value === undefined || !/^[0-9a-fA-F]{1,8}$/.test(value)) return 0;
  return Number.parseInt(value, 16);
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function blankDevice(): ProcInputDevice {
  return { bus: 0, vendor: 0, product: 0, version: 0, name: '', phys: '', sysfs: '', uniq: '', handlers: [], eventNode: undefined, bits: {} };
}

function applyLine(dev: ProcInputDevice, line: string, bitmapLines: Map<string, string>): void {
  const tag = line.slice(0, 3);
  const rest = line.slice(3);
  const eq = rest.indexOf('=');
  const key = eq < 0 ? '' : rest.slice(0, eq).trim();
  const value = eq < 0 ? '' : rest.slice(eq + 1).trim();
  switch (tag) {
    case 'I: ': {
      const fields = new Map(rest.trim().split(/\s+/).map((f) => f.split('=') as [string, string]));
      dev.bus = hex(fields.get('Bus'));
      dev.vendor = hex(fields.get('Vendor'));
      dev.product = hex(fields.get('Product'));
      dev.version = hex(fields.get('Version'));
      break;
    }
    case 'N: ': if (key === 'Name') dev.name = unquote(value); break;
    case 'P: ': if (key === 'Phys') dev.phys = value; break;
    case 'S: ': if (key === 'Sysfs') dev.sysfs = value; break;
    case 'U: ': if (key === 'Uniq') dev.uniq = value; break;
    case 'H: ':
      if (key === 'Handlers') {
        dev.handlers = value.split(/\s+/).filter((h) => h.length > 0);
        dev.eventNode = dev.handlers.find((h) => EVENT_NODE.test(h));
      }
      break;
    case 'B: ': if (/^[A-Z]+$/.test(key)) bitmapLines.set(key, value); break;
    default: break;
  }
}

/** Every device block of the file, in file order. */
export function parseProcInputDevices(text: string, options: ProcInputDevicesOptions = {}): ProcInputDevice[] {
  const devices: ProcInputDevice[] = [];
  for (const block of text.split(/\r?\n\s*\r?\n/)) {
    const lines = block.split(/\r?\n/).map((l) => l.trimStart()).filter((l) => l.length > 0);
    if (!lines.some((l) => l.startsWith('I: ') || l.startsWith('N: '))) continue;
    const dev = blankDevice();
    const bitmapLines = new Map<string, string>();
    for (const line of lines) applyLine(dev, line, bitmapLines);
    const wide = [...bitmapLines.values()].some((v) => v.split(/\s+/).some((w) => w.length > 8));
    const wordBits = wide ? 64 : (options.wordBits ?? 64);
    for (const [name, value] of bitmapLines) {
      const bits = parseBitmap(value, wordBits);
      if (bits !== undefined) dev.bits[name] = bits;
    }
    devices.push(dev);
  }
  return devices;
}

/** Whether bit `bit` of bitmap `map` (KEY, REL, ABS, ...) is set. */
export function hasCapability(dev: ProcInputDevice, map: string, bit: number): boolean {
  return (dev.bits[map] ?? EMPTY).has(bit);
}

/**
 * Kind of a device from its capabilities, in this priority (the order udev's
 * input_id builtin reasons in): touch surfaces (multitouch, or BTN_TOUCH /
 * BTN_TOOL_FINGER with absolute axes), absolute pointers (ABS_X+ABS_Y, e.g. the
 * QEMU USB tablet), relative pointers (REL_X+REL_Y), keyboards (the letter keys,
 * Enter, Space, Esc), and everything else (power button, PC speaker).
 */
export function classifyDevice(dev: ProcInputDevice): DeviceKind {
  const has = (map: string, bit: number): boolean => hasCapability(dev, map, bit);
  const absXY = has('ABS', C.ABS_X) && has('ABS', C.ABS_Y);
  const touchKeys = has('KEY', C.BTN_TOUCH) || has('KEY', C.BTN_TOOL_FINGER);
  if (has('ABS', C.ABS_MT_POSITION_X) || (absXY && touchKeys && !has('KEY', C.BTN_TOOL_PEN))) return 'touch';
  if (absXY) return 'pointer-absolute';
  if (has('REL', C.REL_X) && has('REL', C.REL_Y)) return 'pointer-relative';
  const letters = [C.KEY_ESC, C.KEY_ENTER, C.KEY_A, C.KEY_Z, C.KEY_SPACE].every((k) => has('KEY', k));
  if (letters) return 'keyboard';
  return 'other';
}

/** `usb`, `i8042`, `virtual`, ... or the hex bus number. */
export function busName(bus: number): string {
  return C.BUS_NAMES[bus] ?? `0x${bus.toString(16).padStart(4, '0')}`;
}
