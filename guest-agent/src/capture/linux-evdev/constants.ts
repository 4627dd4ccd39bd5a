/**
 * The few numbers of the Linux input ABI (include/uapi/linux/input-event-codes.h)
 * that the evdev backend acts on. Key and button codes are not here: they come
 * from the key table (@atp/protocol keyFromEvdev).
 */

/** Event types. */
export const EV_SYN = 0x00;
export const EV_KEY = 0x01;
export const EV_REL = 0x02;
export const EV_ABS = 0x03;
export const EV_MSC = 0x04;
export const EV_LED = 0x11;
export const EV_REP = 0x14;

/** EV_SYN codes. */
export const SYN_REPORT = 0;
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

/** EV_MSC codes. */
export const MSC_SCAN = 0x04;

/** EV_LED codes. */
export const LED_NUML = 0x00;
export const LED_CAPSL = 0x01;

/** Bus types (struct input_id.bustype) with the short names `atp-agent devices` prints. */
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
