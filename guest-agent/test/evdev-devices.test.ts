import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { busName, classifyDevice, DeviceInfoSchema, parseBitmap, parseProcInputDevices, type ProcInputDevice } from '@atp/protocol';
import { resolveAbsRange } from '../src/capture/linux-evdev/abs-ranges.js';
import { diffDevices, toDeviceInfo } from '../src/capture/linux-evdev/devices.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/evdev/${name}`, import.meta.url), 'utf8');
const byName = (devices: ProcInputDevice[], name: string): ProcInputDevice => {
  const found = devices.find((d) => d.name === name);
  if (found === undefined) throw new Error(`no device ${name}`);
  return found;
};

describe('/proc/bus/input/devices parser', () => {
  const devices = parseProcInputDevices(fixture('qemu-pc-debian61.devices'));

  it('reads every block with ids, strings and handlers', () => {
    expect(devices.map((d) => d.name)).toEqual([
      'Power Button', 'AT Translated Set 2 keyboard', 'QEMU Virtio Keyboard', 'ImExPS/2 Generic Explorer Mouse', 'QEMU QEMU USB Tablet',
    ]);
    const tablet = byName(devices, 'QEMU QEMU USB Tablet');
    expect(tablet).toMatchObject({
      bus: 0x03, vendor: 0x0627, product: 0x0001, version: 0x0001,
      phys: 'usb-0000:00:01.2-1/input0',
      sysfs: '/devices/pci0000:00/0000:00:01.2/usb1/1-1/1-1:1.0/0003:0627:0001.0001/input/input5',
      uniq: '28754-0000:00:01.2-1',
      handlers: ['mouse1', 'event4'],
      eventNode: 'event4',
    });
    expect(byName(devices, 'AT Translated Set 2 keyboard')).toMatchObject({ version: 0xab41, handlers: ['sysrq', 'kbd', 'event1'], eventNode: 'event1', uniq: '' });
  });

  it('decodes bitmaps most significant word first', () => {
    const tablet = byName(devices, 'QEMU QEMU USB Tablet');
    expect([...(tablet.bits.KEY ?? [])]).toEqual([0x110, 0x111, 0x112]); // BTN_LEFT, BTN_RIGHT, BTN_MIDDLE
    expect([...(tablet.bits.REL ?? [])].sort((a, b) => a - b)).toEqual([8, 11]); // REL_WHEEL, REL_WHEEL_HI_RES
    expect([...(tablet.bits.ABS ?? [])].sort((a, b) => a - b)).toEqual([0, 1]);
    expect([...(tablet.bits.EV ?? [])].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    const kbd = byName(devices, 'AT Translated Set 2 keyboard');
    expect(kbd.bits.KEY?.has(1)).toBe(true); // KEY_ESC
    expect(kbd.bits.KEY?.has(0)).toBe(false); // KEY_RESERVED
    expect(kbd.bits.KEY?.has(0x7d)).toBe(true); // KEY_LEFTMETA
    expect(kbd.bits.EV?.has(0x14)).toBe(true); // EV_REP
    expect([...(byName(devices, 'Power Button').bits.KEY ?? [])]).toEqual([116]); // KEY_POWER
  });

  it('classifies the QEMU devices', () => {
    const kinds = Object.fromEntries(devices.map((d) => [d.name, classifyDevice(d)]));
    expect(kinds).toEqual({
      'Power Button': 'other',
      'AT Translated Set 2 keyboard': 'keyboard',
      'QEMU Virtio Keyboard': 'keyboard',
      'ImExPS/2 Generic Explorer Mouse': 'pointer-relative',
      'QEMU QEMU USB Tablet': 'pointer-absolute',
    });
  });

  it('classifies the VMware mouse pair, the PC speaker, and touch surfaces', () => {
    const vm = parseProcInputDevices(fixture('qemu-pc-vmmouse.devices'));
    expect(vm.map((d) => [d.eventNode, classifyDevice(d)])).toEqual([
      ['event0', 'other'], ['event1', 'keyboard'], ['event2', 'pointer-absolute'], ['event3', 'pointer-relative'], ['event4', 'other'],
    ]);
    const touch = parseProcInputDevices('I: Bus=0018 Vendor=04f3 Product=0001 Version=0000\nN: Name="Touchscreen"\nH: Handlers=event7\nB: EV=b\nB: KEY=400 0 0 0 0 0\nB: ABS=260800000000003\n');
    expect(touch.map(classifyDevice)).toEqual(['touch']);
  });

  it('builds DeviceInfo rows: id = event node, bus name, phys, abs range of known devices', () => {
    const infos = devices.map((d) => toDeviceInfo(d, resolveAbsRange(d, d.eventNode ?? '')));
    for (const info of infos) expect(DeviceInfoSchema.parse(info)).toEqual(info);
    expect(infos.find((i) => i.id === 'event4')).toEqual({
      id: 'event4', name: 'QEMU QEMU USB Tablet', kind: 'pointer-absolute', bus: 'usb', phys: 'usb-0000:00:01.2-1/input0',
      absRange: { xMin: 0, xMax: 32767, yMin: 0, yMax: 32767 },
    });
    expect(infos.map((i) => i.bus)).toEqual(['host', 'i8042', 'virtual', 'i8042', 'usb']);
    expect(infos.find((i) => i.id === 'event3')).not.toHaveProperty('absRange');
    expect(busName(0x42)).toBe('0x0042');
  });

  it('lets the caller override or add abs ranges by id or name', () => {
    const tablet = byName(devices, 'QEMU QEMU USB Tablet');
    const given = { xMin: 0, xMax: 1919, yMin: 0, yMax: 1079 };
    expect(resolveAbsRange(tablet, 'event4', { event4: given })).toEqual(given);
    expect(resolveAbsRange(tablet, 'event4', { 'QEMU QEMU USB Tablet': given })).toEqual(given);
    expect(resolveAbsRange(tablet, 'event4', JSON.parse('{"__proto__": {"xMin": 1}}') as Record<string, never>)).toEqual({ xMin: 0, xMax: 32767, yMin: 0, yMax: 32767 });
  });

  it('reads 32-bit kernel bitmaps when told the word size', () => {
    const narrow = parseProcInputDevices(fixture('qemu-pc-32bit-kernel.devices'), { wordBits: 32 });
    const wide = parseProcInputDevices(fixture('qemu-pc-debian61.devices'));
    expect([...(byName(narrow, 'QEMU QEMU USB Tablet').bits.KEY ?? [])]).toEqual([0x110, 0x111, 0x112]);
    expect([...(byName(narrow, 'AT Translated Set 2 keyboard').bits.KEY ?? [])].sort((a, b) => a - b)).toEqual(
      [...(byName(wide, 'AT Translated Set 2 keyboard').bits.KEY ?? [])].sort((a, b) => a - b),
    );
    expect(narrow.map(classifyDevice)).toEqual(['keyboard', 'pointer-absolute']);
  });

  it('takes a word longer than 8 digits as proof of 64-bit words', () => {
    const text = fixture('qemu-pc-debian61.devices');
    const kbd = byName(parseProcInputDevices(text, { wordBits: 32 }), 'AT Translated Set 2 keyboard');
    expect(kbd.bits.KEY?.has(1)).toBe(true);
  });

  it('skips what it cannot parse without losing the rest', () => {
    const text = 'garbage\n\nI: Bus=zz Vendor=0001\nN: Name="Odd"\nH: Handlers=event9\nB: KEY=xyz\nB: REL=3\nX: unknown\n\n\n';
    const parsed = parseProcInputDevices(text);
    expect(parsed).toHaveLength(1);
    const odd = byName(parsed, 'Odd');
    expect(odd).toMatchObject({ name: 'Odd', bus: 0, vendor: 1, eventNode: 'event9' });
    expect(odd.bits.KEY).toBeUndefined();
    expect(classifyDevice(odd)).toBe('pointer-relative');
    expect(parseBitmap('123456789', 32)).toBeUndefined();
    expect(parseProcInputDevices('')).toEqual([]);
  });

  it('parses CRLF text and indented blocks', () => {
    const text = fixture('qemu-pc-debian61.devices').replace(/\n/g, '\r\n').replace(/^/gm, '  ');
    expect(parseProcInputDevices(text).map((d) => d.eventNode)).toEqual(['event0', 'event1', 'event2', 'event3', 'event4']);
  });

  it('diffs scans by identity: a reused event node is a removal plus an addition', () => {
    const before = parseProcInputDevices(fixture('qemu-pc-debian61.devices'));
    const tablet = byName(before, 'QEMU QEMU USB Tablet');
    const after = [...before.filter((d) => d !== tablet), { ...tablet, name: 'Other Tablet' }];
    const diff = diffDevices(before, after);
    expect(diff.removed.map((d) => d.name)).toEqual(['QEMU QEMU USB Tablet']);
    expect(diff.added.map((d) => d.name)).toEqual(['Other Tablet']);
    expect(diffDevices(before, before)).toEqual({ added: [], removed: [] });
  });
});
