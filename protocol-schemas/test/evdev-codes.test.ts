// Names and the text form of input_event records, and the /proc/bus/input/devices
// parser on the real blocks of a Debian 6.1 guest under QEMU (the full recorded
// files are tested in guest-agent/test/evdev-recorded.test.ts).
import { describe, expect, it } from 'vitest';
import { busName, classifyDevice, evdevCodes, eventCodeName, eventTypeName, formatInputEvent, hasCapability, parseBitmap, parseProcInputDevices } from '../src/evdev/index.js';

describe('evdev names and text form', () => {
  it('names types and codes, keys and buttons from the key table, and falls back to hex', () => {
    expect(eventTypeName(evdevCodes.EV_KEY)).toBe('EV_KEY');
    expect(eventTypeName(0x15)).toBe('EV_0x15');
    expect(evdevCodes.EV).toMatchObject({ SYN: 0, KEY: 1, REL: 2, ABS: 3, MSC: 4, LED: 0x11, REP: 0x14 });
    expect(eventCodeName(evdevCodes.EV_KEY, 30)).toBe('KEY_A');
    expect(eventCodeName(evdevCodes.EV_KEY, evdevCodes.BTN_LEFT)).toBe('BTN_LEFT');
    expect(eventCodeName(evdevCodes.EV_KEY, 0x2f0)).toBe('KEY_0x2f0');
    expect(eventCodeName(evdevCodes.EV_REL, evdevCodes.REL_WHEEL_HI_RES)).toBe('REL_WHEEL_HI_RES');
    expect(eventCodeName(evdevCodes.EV_SYN, evdevCodes.SYN_DROPPED)).toBe('SYN_DROPPED');
    expect(eventCodeName(evdevCodes.EV_ABS, 9)).toBe('0x9');
  });

  it('formats a record as "sec.usec TYPE CODE value", EV_MSC values in unsigned hex', () => {
    expect(formatInputEvent({ sec: 1795814160, usec: 464342, type: 4, code: 4, value: 0x1e })).toBe('1795814160.464342 EV_MSC MSC_SCAN 0x1e');
    expect(formatInputEvent({ sec: 1795814160, usec: 42, type: 1, code: 30, value: 1 })).toBe('1795814160.000042 EV_KEY KEY_A 1');
    expect(formatInputEvent({ sec: 5, usec: 0, type: 2, code: 8, value: -1 })).toBe('5.000000 EV_REL REL_WHEEL -1');
    expect(formatInputEvent({ sec: 5, usec: 0, type: 4, code: 4, value: -1 })).toBe('5.000000 EV_MSC MSC_SCAN 0xffffffff');
  });
});

// Two blocks of /proc/bus/input/devices as printed by the lab guest (Debian 6.1, QEMU 7.2 `pc`).
const REAL = `I: Bus=0011 Vendor=0001 Product=0001 Version=ab41
N: Name="AT Translated Set 2 keyboard"
P: Phys=isa0060/serio0/input0
S: Sysfs=/devices/platform/i8042/serio0/input/input0
U: Uniq=
H: Handlers=sysrq kbd leds event0 
B: PROP=0
B: EV=120013
B: KEY=402000002 3803078f800d001 feffffdfffefffff fffffffffffffffe
B: MSC=10
B: LED=7

I: Bus=0003 Vendor=0627 Product=0001 Version=0001
N: Name="QEMU QEMU USB Tablet"
P: Phys=usb-0000:00:03.0-1/input0
S: Sysfs=/devices/pci0000:00/0000:00:03.0/usb1/1-1/1-1:1.0/0003:0627:0001.0001/input/input3
U: Uniq=28754-0000:00:03.0-1
H: Handlers=mouse0 event1 
B: PROP=0
B: EV=1f
B: KEY=70000 0 0 0 0
B: REL=900
B: ABS=3
B: MSC=10
`;

describe('/proc/bus/input/devices', () => {
  it('parses ids, strings, handlers and bitmaps, and classifies the devices', () => {
    const [kbd, tablet] = parseProcInputDevices(REAL);
    expect(kbd).toMatchObject({ bus: 0x11, vendor: 1, product: 1, version: 0xab41, name: 'AT Translated Set 2 keyboard', handlers: ['sysrq', 'kbd', 'leds', 'event0'], eventNode: 'event0', uniq: '' });
    expect(tablet).toMatchObject({ bus: 3, vendor: 0x627, phys: 'usb-0000:00:03.0-1/input0', uniq: '28754-0000:00:03.0-1', eventNode: 'event1' });
    expect([...(tablet?.bits.REL ?? [])].sort((a, b) => a - b)).toEqual([evdevCodes.REL_WHEEL, evdevCodes.REL_WHEEL_HI_RES]);
    expect([...(tablet?.bits.KEY ?? [])].sort((a, b) => a - b)).toEqual([evdevCodes.BTN_LEFT, evdevCodes.BTN_RIGHT, evdevCodes.BTN_MIDDLE]);
    expect(kbd && hasCapability(kbd, 'EV', evdevCodes.EV_REP)).toBe(true);
    expect(parseProcInputDevices(REAL).map(classifyDevice)).toEqual(['keyboard', 'pointer-absolute']);
    expect([busName(0x11), busName(3), busName(0x42)]).toEqual(['i8042', 'usb', '0x0042']);
  });

  it('reads bitmap words of the given width, and a word over 8 digits only as 64-bit', () => {
    expect([...(parseBitmap('1 0', 32) ?? [])]).toEqual([32]);
    expect([...(parseBitmap('1 0', 64) ?? [])]).toEqual([64]);
    expect(parseBitmap('123456789', 32)).toBeUndefined();
    expect(parseBitmap('xyz', 64)).toBeUndefined();
    expect(parseProcInputDevices('garbage\n\n\n')).toEqual([]);
  });
});
