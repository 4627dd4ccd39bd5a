/**
 * Decodes what the lab guest's kernel reports: raw `struct input_event`
 * records read from /dev/input/eventN (x86-64 layout: struct timeval as two
 * 64-bit longs, then u16 type, u16 code, s32 value = 24 bytes) and the text of
 * /proc/bus/input/devices. Hand-written: both are fixed kernel ABIs of a few
 * fields, used here to check and describe recorded fixtures. Pure.
 */
import { AtpError, keyFromEvdev } from '@atp/protocol';

export const INPUT_EVENT_BYTES = 24;

export const EV = { SYN: 0x00, KEY: 0x01, REL: 0x02, ABS: 0x03, MSC: 0x04, LED: 0x11, REP: 0x14 } as const;
const TYPE_NAMES: Readonly<Record<number, string>> = { 0: 'EV_SYN', 1: 'EV_KEY', 2: 'EV_REL', 3: 'EV_ABS', 4: 'EV_MSC', 0x11: 'EV_LED', 0x14: 'EV_REP' };
const CODE_NAMES: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  [EV.SYN]: { 0: 'SYN_REPORT', 1: 'SYN_CONFIG', 2: 'SYN_MT_REPORT', 3: 'SYN_DROPPED' },
  [EV.REL]: { 0: 'REL_X', 1: 'REL_Y', 6: 'REL_HWHEEL', 8: 'REL_WHEEL', 11: 'REL_WHEEL_HI_RES', 12: 'REL_HWHEEL_HI_RES' },
  [EV.ABS]: { 0: 'ABS_X', 1: 'ABS_Y' },
  [EV.MSC]: { 4: 'MSC_SCAN' },
};

export interface InputEventRecord {
  sec: number;
  usec: number;
  type: number;
  code: number;
  value: number;
}

/** Decodes whole records; a trailing partial record is an error (the reader was cut mid-record). */
export function decodeInputEvents(bytes: Uint8Array): InputEventRecord[] {
  if (bytes.length % INPUT_EVENT_BYTES !== 0) {
    throw new AtpError('ATP_SCHEMA_INVALID', `evdev data is ${bytes.length} bytes, not a multiple of ${INPUT_EVENT_BYTES}`, { details: { length: bytes.length } });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: InputEventRecord[] = [];
  for (let at = 0; at < bytes.length; at += INPUT_EVENT_BYTES) {
    out.push({
      sec: Number(view.getBigInt64(at, true)),
      usec: Number(view.getBigInt64(at + 8, true)),
      type: view.getUint16(at + 16, true),
      code: view.getUint16(at + 18, true),
      value: view.getInt32(at + 20, true),
    });
  }
  return out;
}

export function eventTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `EV_0x${type.toString(16)}`;
}

export function eventCodeName(type: number, code: number): string {
  if (type === EV.KEY) return keyFromEvdev(code) ?? `KEY_0x${code.toString(16)}`;
  return CODE_NAMES[type]?.[code] ?? `0x${code.toString(16)}`;
}

/** One line per event: "12.345678 EV_KEY KEY_A 1". */
export function formatInputEvent(e: InputEventRecord): string {
  const value = e.type === EV.MSC ? `0x${(e.value >>> 0).toString(16)}` : String(e.value);
  return `${e.sec}.${String(e.usec).padStart(6, '0')} ${eventTypeName(e.type)} ${eventCodeName(e.type, e.code)} ${value}`;
}

export interface InputDeviceInfo {
  name: string;
  /** e.g. ["sysrq", "kbd", "leds", "event0"] */
  handlers: string[];
  /** "event0", or undefined when evdev is not bound. */
  eventNode: string | undefined;
  phys: string;
  /** The raw "I:" line (bus, vendor, product, version). */
  id: string;
}

/** Parses /proc/bus/input/devices (blank-line separated blocks of "X: ..." lines). */
export function parseInputDevices(text: string): InputDeviceInfo[] {
  const devices: InputDeviceInfo[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').map((l) => l.trim());
    const field = (prefix: string): string | undefined => lines.find((l) => l.startsWith(prefix))?.slice(prefix.length);
    const id = field('I: ');
    if (id === undefined) continue;
    const name = /^Name="(.*)"$/.exec(field('N: ') ?? '')?.[1] ?? '';
    const handlers = (/^Handlers=(.*)$/.exec(field('H: ') ?? '')?.[1] ?? '').split(/\s+/).filter((h) => h !== '');
    const phys = /^Phys=(.*)$/.exec(field('P: ') ?? '')?.[1] ?? '';
    devices.push({ name, handlers, eventNode: handlers.find((h) => /^event\d+$/.test(h)), phys, id });
  }
  return devices;
}

/** The lab's standard input devices (PS/2 keyboard and mouse, USB tablet), if all are present. */
export function findLabInputDevices(devices: readonly InputDeviceInfo[]): { keyboard: InputDeviceInfo; mouse: InputDeviceInfo; tablet: InputDeviceInfo } | undefined {
  const keyboard = devices.find((d) => d.phys.startsWith('isa0060/serio0') && d.handlers.includes('kbd') && d.eventNode);
  const mouse = devices.find((d) => d.phys.startsWith('isa0060/serio1') && d.eventNode);
  const tablet = devices.find((d) => d.name.includes('USB Tablet') && d.eventNode);
  return keyboard && mouse && tablet ? { keyboard, mouse, tablet } : undefined;
}
