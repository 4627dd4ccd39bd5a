// The agent's decoder + translator on REAL evdev byte streams recorded from a
// Debian 6.1 guest kernel under QEMU (fixtures/evdev/recorded/README.md), and the
// classifier on that guest's real /proc/bus/input/devices.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeInputEvents,
  DeviceInfoSchema,
  formatInputEvent,
  InputEventDecoder,
  keyToSet1,
  ObservedEventSchema,
  parseProcInputDevices,
  type AxisRange,
} from '@atp/protocol';
import type { CapturedEvent } from '../src/capture/index.js';
import { resolveAbsRange } from '../src/capture/linux-evdev/abs-ranges.js';
import { toDeviceInfo } from '../src/capture/linux-evdev/devices.js';
import { EvdevTranslator } from '../src/capture/linux-evdev/translate.js';
import {
  KEYBOARD_NAME, MOUSE_NAME, QEMU_TABLET_RANGE, RECORDED_STEMS, TABLET_NAME, VIRTIO_KEYBOARD_NAME,
  ps2KeyboardEvents, ps2MouseEvents, ps2PhaseTabletEvents, recordedBytes, recordedDevice, recordedText, tabletAbsEvents, virtioKeyboardEvents,
} from './fixtures/evdev/recorded-events.js';

/** Decodes a recorded stream in 100-byte reads (records cut mid-way, as a short read would) and translates it. */
function translate(stem: string, device: string, absRange?: AxisRange): CapturedEvent[] {
  const bytes = recordedBytes(stem);
  const decoder = new InputEventDecoder('timeval64');
  const translator = new EvdevTranslator(absRange === undefined ? { device } : { device, absRange });
  const out: CapturedEvent[] = [];
  for (let at = 0; at < bytes.length; at += 100) out.push(...translator.push(decoder.push(bytes.subarray(at, at + 100))));
  expect(decoder.pendingBytes).toBe(0);
  for (const e of out) expect(ObservedEventSchema.safeParse({ ...e, seq: 1 }).success).toBe(true);
  return out;
}

const keysOf = (events: CapturedEvent[]): string[] => events.flatMap((e) => (e.kind === 'key' ? [`${e.key}:${e.action}`] : []));

describe('recorded fixtures', () => {
  it.each(RECORDED_STEMS)('%s.txt is its .bin formatted by the shared formatInputEvent', (stem) => {
    const records = decodeInputEvents(recordedBytes(stem));
    expect(records.length).toBeGreaterThan(0);
    expect(records.map((r) => `${formatInputEvent(r)}\n`).join('')).toBe(recordedText(`${stem}.txt`));
  });
});

describe('real PS/2 keyboard (phase ps2-keyboard)', () => {
  let events: CapturedEvent[] = [];
  beforeAll(() => {
    events = translate('ps2-keyboard.keyboard', 'event0');
  });

  it('yields exactly the injected keys, each with the MSC_SCAN set-1 scancode', () => {
    expect(events).toEqual(ps2KeyboardEvents('event0'));
    for (const e of events) if (e.kind === 'key') expect(e.native?.scancode).toBe(keyToSet1(e.key));
  });

  it('keeps send-key order: shift+b pressed in order; ctrl+alt+c pressed in order and released in reverse', () => {
    expect(keysOf(events).slice(2, 12)).toEqual([
      'KEY_LEFTSHIFT:down', 'KEY_B:down', 'KEY_B:up', 'KEY_LEFTSHIFT:up',
      'KEY_LEFTCTRL:down', 'KEY_LEFTALT:down', 'KEY_C:down', 'KEY_C:up', 'KEY_LEFTALT:up', 'KEY_LEFTCTRL:up',
    ]);
  });

  it('holds x 600 ms with no autorepeat (QEMU PS/2 has no typematic repeat)', () => {
    const x = events.filter((e) => e.kind === 'key' && e.key === 'KEY_X');
    expect(x.map((e) => e.kind === 'key' && e.action)).toEqual(['down', 'up']);
    expect((x[1]?.t ?? 0) - (x[0]?.t ?? 0)).toBeGreaterThanOrEqual(600);
    expect(events.some((e) => e.kind === 'key' && e.action === 'repeat')).toBe(false);
  });
});

describe('real virtio keyboard (phase virtio-keyboard)', () => {
  let events: CapturedEvent[] = [];
  beforeAll(() => {
    events = translate('virtio-keyboard.virtio-keyboard', 'event1');
  });

  it('yields the same keys without scancodes, and the hold of x as repeats distinct from down', () => {
    expect(events).toEqual(virtioKeyboardEvents('event1'));
    const x = keysOf(events).filter((k) => k.startsWith('KEY_X:'));
    expect(x).toEqual(['KEY_X:down', ...Array<string>(9).fill('KEY_X:repeat'), 'KEY_X:up']);
    // The input core's autorepeat: first repeat after its 250 ms delay, then about every 40 ms.
    const times = events.filter((e) => e.kind === 'key' && e.key === 'KEY_X').map((e) => e.t);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(250);
  });
});

describe('real PS/2 mouse and USB tablet', () => {
  it('relative motion on the PS/2 mouse: one rel per report, REL_X and REL_Y summed', () => {
    expect(translate('ps2-mouse-rel.mouse', 'event2')).toEqual(ps2MouseEvents('event2'));
  });

  it('the click of the rel phase, which QEMU routed to the tablet, at the tablet position 0,0', () => {
    expect(translate('ps2-mouse-rel.tablet', 'event1', QEMU_TABLET_RANGE)).toEqual(ps2PhaseTabletEvents('event1'));
  });

  it('absolute positions in 0..32767, buttons at the position, and the wheel counted once per notch', () => {
    const events = translate('usb-tablet-abs.tablet', 'event1', QEMU_TABLET_RANGE);
    expect(events).toEqual(tabletAbsEvents('event1'));
    const wheel = events.filter((e) => e.kind === 'wheel');
    expect(wheel.map((e) => e.kind === 'wheel' && e.dy)).toEqual([-1, 1]);
  });
});

describe("the real guest's /proc/bus/input/devices", () => {
  const info = (file: 'input-devices.txt' | 'virtio-input-devices.txt', name: string) => {
    const dev = recordedDevice(file, name);
    const base = toDeviceInfo(dev);
    return toDeviceInfo(dev, resolveAbsRange(dev, base.id));
  };

  it('classifies the PS/2 keyboard, the ImExPS/2 mouse and the QEMU USB tablet (first boot)', () => {
    expect(parseProcInputDevices(recordedText('input-devices.txt')).map((d) => d.name)).toEqual([KEYBOARD_NAME, TABLET_NAME, MOUSE_NAME]);
    expect(info('input-devices.txt', KEYBOARD_NAME)).toEqual({ id: 'event0', name: KEYBOARD_NAME, kind: 'keyboard', bus: 'i8042', phys: 'isa0060/serio0/input0' });
    expect(info('input-devices.txt', MOUSE_NAME)).toEqual({ id: 'event2', name: MOUSE_NAME, kind: 'pointer-relative', bus: 'i8042', phys: 'isa0060/serio1/input0' });
    expect(info('input-devices.txt', TABLET_NAME)).toEqual({
      id: 'event1', name: TABLET_NAME, kind: 'pointer-absolute', bus: 'usb', phys: 'usb-0000:00:03.0-1/input0', absRange: QEMU_TABLET_RANGE,
    });
  });

  it('classifies the virtio keyboard as a keyboard (second boot), beside the same three', () => {
    const kinds = parseProcInputDevices(recordedText('virtio-input-devices.txt')).map((d) => [d.name, d.eventNode, toDeviceInfo(d).kind]);
    expect(kinds).toEqual([
      [KEYBOARD_NAME, 'event0', 'keyboard'],
      [VIRTIO_KEYBOARD_NAME, 'event1', 'keyboard'],
      [TABLET_NAME, 'event2', 'pointer-absolute'],
      [MOUSE_NAME, 'event3', 'pointer-relative'],
    ]);
    const virtio = info('virtio-input-devices.txt', VIRTIO_KEYBOARD_NAME);
    expect(virtio).toEqual({ id: 'event1', name: VIRTIO_KEYBOARD_NAME, kind: 'keyboard', bus: 'virtual', phys: 'virtio0/input0' });
    expect(DeviceInfoSchema.safeParse(virtio).success).toBe(true);
  });
});
