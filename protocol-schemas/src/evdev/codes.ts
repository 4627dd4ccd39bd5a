/**
 * The numbers of the Linux input ABI (include/uapi/linux/input-event-codes.h)
 * that ATP acts on or prints, their names, and a one-line text form of a record.
 * Hand-written: a handful of fixed kernel constants, not worth generating. Key
 * and button names are not here: they come from the key table (keyFromEvdev).
 * Exported as the `evdevCodes` namespace of @atp/protocol. Pure.
 */
import { keyFromEvdev } from '../keys/index.js';
import type { RawInputEvent } from './input-event.js';

/** Event types. */
export const EV_SYN = 0x00;
export const EV_KEY = 0x01;
export const EV_REL = 0x02;
export const EV_ABS = 0x03;
export const EV_MSC = 0x04;
export const EV_LED = 0x11;
export const EV_REP = 0x14;

/** The event types as one object: EV.KEY. */
export const EV = { SYN: EV_SYN, KEY: EV_KEY, REL: EV_REL, ABS: EV_ABS, MSC: EV_MSC, LED: EV_LED, REP: EV_REP } as const;

/** EV_SYN codes. SYN_REPORT's value is 1 on the report that closes an autorepeat, 0 otherwise. */
export const SYN_REPORT = 0;
export const SYN_CONFIG = 1;
export const SYN_MT_REPORT = 2;
export const SYN_DROPPED = 3;

/** EV_KEY: codes 0x100..0x15f and 0x2c0..0x2e7 are buttons (BTN_*), the rest keys; KEY_MAX is 0x2ff. */
export const KEY_MAX = 0x2ff;
export const BTN_MISC = 0x100;
export const BTN_RANGE_END = 0x160;
export const BTN_TRIGGER_HAPPY = 0x2c0;
/** One past BTN_TRIGGER_HAPPY40; 0x2e8..KEY_MAX are unassigned and treated as keys. */
export const BTN_TRIGGER_HAPPY_END = 0x2e8;
export const BTN_LEFT = 0x110;
export const BTN_RIGHT = 0x111;
export const BTN_MIDDLE = 0x112;
export const BTN_TOOL_PEN = 0x140;
export const BTN_TOOL_FINGER = 0x145;
export const BTN_TOUCH = 0x14a;

/** Keys the classifier looks for to call a device a keyboard. */
export const KEY_ESC = 1;
export const KEY_ENTER = 28;
export const KEY_A = 30;
export const KEY_Z = 44;
export const KEY_SPACE = 57;

/** EV_REL codes. */
export const REL_X = 0x00;
export const REL_Y = 0x01;
export const REL_HWHEEL = 0x06;
export const REL_WHEEL = 0x08;
export const REL_WHEEL_HI_RES = 0x0b;
export const REL_HWHEEL_HI_RES = 0x0c;

/** EV_ABS codes. */
export const ABS_X = 0x00;
export const ABS_Y = 0x01;
export const ABS_MT_POSITION_X = 0x35;
export const ABS_MT_POSITION_Y = 0x36;

/** EV_MSC codes. */
export const MSC_SCAN = 0x04;

/** EV_LED codes. */
export const LED_NUML = 0x00;
export const LED_CAPSL = 0x01;
export const LED_SCROLLL = 0x02;

/** Bus types (struct input_id.bustype) with short names (`atp-agent devices` prints them). */
export const BUS_NAMES: Readonly<Record<number, string>> = {
  0x01: 'pci',
  0x03: 'usb',
  0x05: 'bluetooth',
  0x06: 'virtual',
  0x10: 'isa',
  0x11: 'i8042',
  0x13: 'rs232',
  0x15: 'parport',
  0x18: 'i2c',
  0x19: 'host',
  0x1c: 'spi',
  0x1d: 'rmi',
};

const TYPE_NAMES: Readonly<Record<number, string>> = {
  [EV_SYN]: 'EV_SYN', [EV_KEY]: 'EV_KEY', [EV_REL]: 'EV_REL', [EV_ABS]: 'EV_ABS', [EV_MSC]: 'EV_MSC', [EV_LED]: 'EV_LED', [EV_REP]: 'EV_REP',
};

const CODE_NAMES: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  [EV_SYN]: { [SYN_REPORT]: 'SYN_REPORT', [SYN_CONFIG]: 'SYN_CONFIG', [SYN_MT_REPORT]: 'SYN_MT_REPORT', [SYN_DROPPED]: 'SYN_DROPPED' },
  [EV_REL]: {
    [REL_X]: 'REL_X', [REL_Y]: 'REL_Y', [REL_HWHEEL]: 'REL_HWHEEL', [REL_WHEEL]: 'REL_WHEEL',
    [REL_WHEEL_HI_RES]: 'REL_WHEEL_HI_RES', [REL_HWHEEL_HI_RES]: 'REL_HWHEEL_HI_RES',
  },
  [EV_ABS]: { [ABS_X]: 'ABS_X', [ABS_Y]: 'ABS_Y', [ABS_MT_POSITION_X]: 'ABS_MT_POSITION_X', [ABS_MT_POSITION_Y]: 'ABS_MT_POSITION_Y' },
  [EV_MSC]: { [MSC_SCAN]: 'MSC_SCAN' },
  [EV_LED]: { [LED_NUML]: 'LED_NUML', [LED_CAPSL]: 'LED_CAPSL', [LED_SCROLLL]: 'LED_SCROLLL' },
};

/** EV_KEY, or EV_0x15 for a type without a name here. */
export function eventTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `EV_0x${type.toString(16)}`;
}

/** KEY_A / BTN_LEFT (from the key table), REL_WHEEL, SYN_REPORT, ...; KEY_0x2f0 or 0x9 when unnamed. */
export function eventCodeName(type: number, code: number): string {
  if (type === EV_KEY) return keyFromEvdev(code) ?? `KEY_0x${code.toString(16)}`;
  return CODE_NAMES[type]?.[code] ?? `0x${code.toString(16)}`;
}

/** One line per record: "12.345678 EV_KEY KEY_A 1" (EV_MSC values in hex: "EV_MSC MSC_SCAN 0x1e"). */
export function formatInputEvent(e: RawInputEvent): string {
  const value = e.type === EV_MSC ? `0x${(e.value >>> 0).toString(16)}` : String(e.value);
  return `${e.sec}.${String(e.usec).padStart(6, '0')} ${eventTypeName(e.type)} ${eventCodeName(e.type, e.code)} ${value}`;
}
