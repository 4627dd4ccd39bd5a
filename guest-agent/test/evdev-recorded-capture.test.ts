// LinuxEvdevCapture end to end on REAL recordings: the guest's real
// /proc/bus/input/devices as the device list, FIFOs as the device nodes, and the
// recorded kernel bytes replayed into them in reads that cut records
// (fixtures/evdev/recorded/README.md). The events must be exactly those the
// phases imply, per device.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ObservedEventSchema, type AtpError } from '@atp/protocol';
import { LinuxEvdevCapture, type CapturedEvent } from '../src/capture/index.js';
import { FifoWriter, mkfifo, waitFor } from './fixtures/evdev/fifo-device.js';
import {
  KEYBOARD_NAME, MOUSE_NAME, TABLET_NAME, VIRTIO_KEYBOARD_NAME,
  ps2KeyboardEvents, ps2MouseEvents, ps2PhaseTabletEvents, recordedBytes, recordedDevice, recordedText, tabletAbsEvents, virtioKeyboardEvents,
} from './fixtures/evdev/recorded-events.js';

let dir: string;
let devDir: string;
let procPath: string;
const writers: FifoWriter[] = [];
const captures: LinuxEvdevCapture[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atp-evdev-rec-'));
  devDir = path.join(dir, 'input');
  procPath = path.join(dir, 'devices');
  fs.mkdirSync(devDir);
});

afterEach(async () => {
  for (const w of writers.splice(0)) w.close();
  await Promise.all(captures.splice(0).map((c) => c.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts a capture over the recorded device list, with FIFOs for `nodes` only; returns its writers by node. */
async function startCapture(devicesFile: string, nodes: readonly string[]): Promise<{ events: CapturedEvent[]; errors: AtpError[]; writer: (node: string) => FifoWriter }> {
  fs.writeFileSync(procPath, recordedText(devicesFile));
  for (const node of nodes) mkfifo(path.join(devDir, node));
  const capture = new LinuxEvdevCapture({ procDevicesPath: procPath, devDir, rescanMs: 100, settleMs: 20, wordBits: 64 });
  captures.push(capture);
  const events: CapturedEvent[] = [];
  const errors: AtpError[] = [];
  capture.subscribe({ event: (e) => events.push(e), error: (e) => errors.push(e) });
  const starting = capture.start();
  const opened = new Map<string, FifoWriter>();
  for (const node of nodes) {
    const w = await FifoWriter.open(path.join(devDir, node));
    writers.push(w);
    opened.set(node, w);
  }
  await starting;
  return {
    events,
    errors,
    writer: (node) => {
      const w = opened.get(node);
      if (w === undefined) throw new Error(`no FIFO for ${node}`);
      return w;
    },
  };
}

/** Writes recorded bytes in 100-byte pieces: records cut across writes (and so across reads). */
function replay(w: FifoWriter, ...stems: string[]): void {
  for (const stem of stems) {
    const bytes = recordedBytes(stem);
    for (let at = 0; at < bytes.length; at += 100) w.writeBytes(bytes.subarray(at, at + 100));
  }
}

const inputOf = (events: CapturedEvent[], device: string): CapturedEvent[] => events.filter((e) => e.kind !== 'device' && e.device === device);
const unexpected = (errors: AtpError[]): AtpError[] => errors;

describe('LinuxEvdevCapture replaying real recordings through FIFOs', () => {
  it('first boot: PS/2 keyboard, PS/2 mouse and USB tablet, each with exactly the phases\' events', async () => {
    const keyboard = recordedDevice('input-devices.txt', KEYBOARD_NAME).eventNode ?? '';
    const mouse = recordedDevice('input-devices.txt', MOUSE_NAME).eventNode ?? '';
    const tablet = recordedDevice('input-devices.txt', TABLET_NAME).eventNode ?? '';
    expect([keyboard, tablet, mouse]).toEqual(['event0', 'event1', 'event2']);
    const { events, errors, writer } = await startCapture('input-devices.txt', [keyboard, mouse, tablet]);

    replay(writer(keyboard), 'ps2-keyboard.keyboard');
    replay(writer(mouse), 'ps2-mouse-rel.mouse');
    replay(writer(tablet), 'ps2-mouse-rel.tablet', 'usb-tablet-abs.tablet');

    const expected = {
      [keyboard]: ps2KeyboardEvents(keyboard),
      [mouse]: ps2MouseEvents(mouse),
      [tablet]: [...ps2PhaseTabletEvents(tablet), ...tabletAbsEvents(tablet)],
    };
    await waitFor(() => Object.entries(expected).every(([node, want]) => inputOf(events, node).length >= want.length), 'every recorded event');
    for (const [node, want] of Object.entries(expected)) expect(inputOf(events, node)).toEqual(want);
    expect(events.filter((e) => e.kind === 'device').map((e) => e.kind === 'device' && [e.change, e.info?.kind])).toEqual(
      expect.arrayContaining([['added', 'keyboard'], ['added', 'pointer-relative'], ['added', 'pointer-absolute']]),
    );
    for (const e of events) expect(ObservedEventSchema.safeParse({ ...e, seq: 1 }).success).toBe(true);
    expect(unexpected(errors)).toEqual([]);
  });

  it('second boot: the virtio keyboard, with autorepeat as repeat events', async () => {
    const virtio = recordedDevice('virtio-input-devices.txt', VIRTIO_KEYBOARD_NAME).eventNode ?? '';
    expect(virtio).toBe('event1');
    const { events, errors, writer } = await startCapture('virtio-input-devices.txt', [virtio]);
    replay(writer(virtio), 'virtio-keyboard.virtio-keyboard');
    const want = virtioKeyboardEvents(virtio);
    await waitFor(() => inputOf(events, virtio).length >= want.length, 'every recorded virtio event');
    expect(inputOf(events, virtio)).toEqual(want);
    expect(unexpected(errors)).toEqual([]);
  });
});
