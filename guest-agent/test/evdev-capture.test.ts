import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeInputEvents, ObservedEventSchema, type AtpError, type RawInputEvent } from '@atp/protocol';
import { LinuxEvdevCapture, listDevices, type CapturedEvent } from '../src/capture/index.js';
import { EvdevReader, type ReaderEnd } from '../src/capture/linux-evdev/reader.js';
import { FifoWriter, frame, mkfifo, waitFor } from './fixtures/evdev/fifo-device.js';

const KEYBOARD = `I: Bus=0011 Vendor=0001 Product=0001 Version=ab41
N: Name="AT Translated Set 2 keyboard"
P: Phys=isa0060/serio0/input0
S: Sysfs=/devices/platform/i8042/serio0/input/input1
U: Uniq=
H: Handlers=sysrq kbd event1
B: PROP=0
B: EV=120013
B: KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe
B: MSC=10
B: LED=7
`;
const TABLET = `I: Bus=0003 Vendor=0627 Product=0001 Version=0001
N: Name="QEMU QEMU USB Tablet"
P: Phys=usb-0000:00:01.2-1/input0
S: Sysfs=/devices/pci0000:00/0000:00:01.2/usb1/1-1/1-1:1.0/0003:0627:0001.0001/input/input5
U: Uniq=28754-0000:00:01.2-1
H: Handlers=mouse1 event4
B: PROP=0
B: EV=1f
B: KEY=70000 0 0 0 0
B: REL=900
B: ABS=3
B: MSC=10
`;
const VIRTIO_KEYBOARD = `I: Bus=0006 Vendor=0627 Product=0001 Version=0001
N: Name="QEMU Virtio Keyboard"
P: Phys=virtio1/input0
S: Sysfs=/devices/pci0000:00/0000:00:04.0/virtio1/input/input7
U: Uniq=
H: Handlers=sysrq kbd event7
B: PROP=0
B: EV=120003
B: KEY=400000007 ff803078f800dfff febeffff7bcfffff fffffffffffffffe
B: LED=7
`;

let dir: string;
let devDir: string;
let procPath: string;
const writers: FifoWriter[] = [];
const captures: LinuxEvdevCapture[] = [];

function writeProc(...blocks: string[]): void {
  fs.writeFileSync(`${procPath}.tmp`, blocks.join('\n'));
  fs.renameSync(`${procPath}.tmp`, procPath);
}

async function writer(node: string): Promise<FifoWriter> {
  const w = await FifoWriter.open(path.join(devDir, node));
  writers.push(w);
  return w;
}

function newCapture(): { capture: LinuxEvdevCapture; events: CapturedEvent[]; errors: AtpError[] } {
  const capture = new LinuxEvdevCapture({ procDevicesPath: procPath, devDir, rescanMs: 100, settleMs: 20 });
  captures.push(capture);
  const events: CapturedEvent[] = [];
  const errors: AtpError[] = [];
  capture.subscribe({ event: (e) => events.push(e), error: (e) => errors.push(e) });
  return { capture, events, errors };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atp-evdev-'));
  devDir = path.join(dir, 'input');
  procPath = path.join(dir, 'devices');
  fs.mkdirSync(devDir);
});

afterEach(async () => {
  for (const w of writers.splice(0)) w.close();
  await Promise.all(captures.splice(0).map((c) => c.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('EvdevReader on a FIFO', () => {
  it('decodes records written in pieces and reports EOF', async () => {
    const fifo = path.join(devDir, 'event0');
    mkfifo(fifo);
    const got: RawInputEvent[] = [];
    let ended: ReaderEnd | undefined;
    const opening = EvdevReader.open(fifo, { onEvents: (e) => got.push(...e), onEnd: (r) => (ended = r), onError: (e) => { throw e; } });
    const w = await writer('event0');
    const reader = await opening;
    const records = frame(1_700_000_000, [1, 30, 1], [1, 30, 0]);
    const bytes = encodeInputEvents(records);
    w.writeBytes(bytes.subarray(0, 30)); // one record and a quarter
    await waitFor(() => got.length === 1, 'the first record');
    w.writeBytes(bytes.subarray(30));
    await waitFor(() => got.length === records.length, 'all records');
    expect(got).toEqual(records);
    w.close();
    expect(await waitFor(() => ended, 'EOF')).toBe('eof');
    expect(reader.isClosed).toBe(true);
  });
});

describe('LinuxEvdevCapture over FIFO devices', () => {
  it('captures keys, tablet motion, buttons, wheel and SYN_DROPPED from the device nodes', async () => {
    writeProc(KEYBOARD, TABLET);
    mkfifo(path.join(devDir, 'event1'));
    mkfifo(path.join(devDir, 'event4'));
    const { capture, events, errors } = newCapture();
    const iterator = capture.events();
    const starting = capture.start();
    const kbd = await writer('event1');
    const tablet = await writer('event4');
    await starting;

    expect(capture.devices().sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'event1', name: 'AT Translated Set 2 keyboard', kind: 'keyboard', bus: 'i8042', phys: 'isa0060/serio0/input0' },
      { id: 'event4', name: 'QEMU QEMU USB Tablet', kind: 'pointer-absolute', bus: 'usb', phys: 'usb-0000:00:01.2-1/input0', absRange: { xMin: 0, xMax: 32767, yMin: 0, yMax: 32767 } },
    ]);
    expect(events.filter((e) => e.kind === 'device').map((e) => e.kind === 'device' && `${e.change}:${e.device}`).sort()).toEqual(['added:event1', 'added:event4']);

    kbd.write([...frame(1_700_000_000, [4, 4, 0x1e], [1, 30, 1]), ...frame(1_700_000_000, [1, 30, 0])]);
    tablet.write([
      ...frame(1_700_000_001, [3, 0, 16384], [3, 1, 8192]),
      ...frame(1_700_000_001, [1, 0x110, 1]),
      ...frame(1_700_000_001, [2, 8, -1], [2, 11, -120]),
    ]);
    kbd.write([{ sec: 1_700_000_002, usec: 0, type: 0, code: 3, value: 0 }, ...frame(1_700_000_002, [1, 30, 1])]);

    const input = await waitFor(() => {
      const got = events.filter((e) => e.kind !== 'device');
      return got.length >= 6 ? got : undefined;
    }, 'six input events');
    const byDevice = (id: string): CapturedEvent[] => input.filter((e) => e.device === id);
    expect(byDevice('event1')).toMatchObject([
      { kind: 'key', key: 'KEY_A', action: 'down', native: { evdev: 30, scancode: 0x1e }, t: 1_700_000_000_000 },
      { kind: 'key', key: 'KEY_A', action: 'up' },
      { kind: 'sync-dropped' },
    ]);
    expect(byDevice('event4')).toMatchObject([
      { kind: 'abs', x: 16384, y: 8192, range: { xMax: 32767 } },
      { kind: 'button', button: 'left', action: 'down', x: 16384, y: 8192 },
      { kind: 'wheel', dy: 1, dx: 0, hiRes: { dy: 120, dx: 0 } },
    ]);
    for (const e of events) expect(ObservedEventSchema.safeParse({ ...e, seq: 1 }).success).toBe(true);

    // The async iterator sees the same stream, in order.
    const first: CapturedEvent[] = [];
    for (let i = 0; i < events.length; i++) {
      const next = await iterator.next();
      if (next.done === true) break;
      first.push(next.value);
    }
    expect(first).toEqual(events.slice(0, first.length));
    expect(errors).toEqual([]);

    await capture.stop();
    expect(capture.devices()).toEqual([]);
    expect((await iterator.next()).done).toBe(true);
  });

  it('follows hotplug: a device node appearing is opened, one vanishing is reported removed', async () => {
    writeProc(KEYBOARD);
    mkfifo(path.join(devDir, 'event1'));
    const { capture, events } = newCapture();
    const starting = capture.start();
    await writer('event1');
    await starting;

    // The kernel lists the device first, then devtmpfs creates its node.
    writeProc(KEYBOARD, VIRTIO_KEYBOARD);
    mkfifo(path.join(devDir, 'event7'));
    const virtio = await writer('event7');
    const added = await waitFor(() => events.find((e) => e.kind === 'device' && e.device === 'event7'), 'event7 added');
    expect(added).toMatchObject({ kind: 'device', change: 'added', info: { id: 'event7', name: 'QEMU Virtio Keyboard', kind: 'keyboard', bus: 'virtual' } });
    expect(capture.devices().map((d) => d.id).sort()).toEqual(['event1', 'event7']);

    virtio.write(frame(1_700_000_010, [1, 57, 1]));
    expect(await waitFor(() => events.find((e) => e.kind === 'key'), 'a key from event7')).toMatchObject({ device: 'event7', key: 'KEY_SPACE', action: 'down' });

    // Unplug: devtmpfs removes the node, the kernel drops the /proc entry.
    fs.unlinkSync(path.join(devDir, 'event7'));
    writeProc(KEYBOARD);
    const removed = await waitFor(() => events.find((e) => e.kind === 'device' && e.change === 'removed'), 'event7 removed');
    expect(removed).toMatchObject({ device: 'event7', info: { name: 'QEMU Virtio Keyboard' } });
    expect(capture.devices().map((d) => d.id)).toEqual(['event1']);
    expect(events.filter((e) => e.kind === 'device' && e.change === 'removed')).toHaveLength(1);
  });

  it('reports a device whose stream ends (EOF) as removed, once', async () => {
    writeProc(KEYBOARD);
    mkfifo(path.join(devDir, 'event1'));
    const { capture, events } = newCapture();
    const starting = capture.start();
    const kbd = await writer('event1');
    await starting;
    kbd.close();
    await waitFor(() => events.find((e) => e.kind === 'device' && e.change === 'removed'), 'removal');
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few rescans: it must not be reopened or re-reported
    expect(events.filter((e) => e.kind === 'device').map((e) => e.kind === 'device' && e.change)).toEqual(['added', 'removed']);
    expect(capture.devices()).toEqual([]);
  });

  it('reads 16 devices at once and leaves the libuv threadpool free for everything else', async () => {
    // Each block is a keyboard on its own node; 16 is four times libuv's default pool.
    const nodes = Array.from({ length: 16 }, (_, i) => `event${i + 10}`);
    writeProc(...nodes.map((node, i) => KEYBOARD.replace('event1', node).replace('input1', `input${i + 10}`)));
    for (const node of nodes) mkfifo(path.join(devDir, node));
    const { capture, events, errors } = newCapture();
    await capture.start();
    expect(capture.devices()).toHaveLength(16);
    // The pool answers while every device waits for input (the old reader held one pool thread per device).
    const started = Date.now();
    await Promise.all(Array.from({ length: 8 }, () => fs.promises.stat(dir)));
    expect(Date.now() - started).toBeLessThan(5_000);
    const ws = await Promise.all(nodes.map((node) => writer(node)));
    ws.forEach((w, i) => w.write(frame(1_700_000_000 + i, [1, 30, 1], [1, 30, 0])));
    await waitFor(() => events.filter((e) => e.kind === 'key').length === 32, '32 key events');
    const byDevice = new Set(events.filter((e) => e.kind === 'key').map((e) => e.device));
    expect([...byDevice].sort()).toEqual([...nodes].sort());
    expect(errors).toEqual([]);
  });

  it('reports devices beyond maxDevices once each as ATP_CAPTURE_DEVICE_LIMIT and opens them when room frees up', async () => {
    const second = KEYBOARD.replace('event1', 'event2').replace('input1', 'input2');
    const third = KEYBOARD.replace('event1', 'event3').replace('input1', 'input3');
    writeProc(KEYBOARD, second, third);
    for (const node of ['event1', 'event2', 'event3']) mkfifo(path.join(devDir, node));
    const capture = new LinuxEvdevCapture({ procDevicesPath: procPath, devDir, rescanMs: 50, settleMs: 20, maxDevices: 2 });
    captures.push(capture);
    const errors: AtpError[] = [];
    const events: CapturedEvent[] = [];
    capture.subscribe({ event: (e) => events.push(e), error: (e) => errors.push(e) });
    await capture.start();
    expect(capture.devices().map((d) => d.id)).toEqual(['event1', 'event2']);
    await new Promise((resolve) => setTimeout(resolve, 200)); // several rescans: still one report
    expect(errors).toMatchObject([{ code: 'ATP_CAPTURE_DEVICE_LIMIT', details: { device: 'event3', open: 2, maxDevices: 2 } }]);
    // event1 goes away: event3 now fits and is opened at the next scan.
    writeProc(second, third);
    fs.rmSync(path.join(devDir, 'event1'));
    await waitFor(() => capture.devices().some((d) => d.id === 'event3'), 'event3 opened');
    expect(capture.devices().map((d) => d.id).sort()).toEqual(['event2', 'event3']);
    expect(errors).toHaveLength(1);
  });

  it('rejects start() when the device list cannot be read', async () => {
    const capture = new LinuxEvdevCapture({ procDevicesPath: path.join(dir, 'missing'), devDir });
    await expect(capture.start()).rejects.toMatchObject({ name: 'AtpError', code: 'ATP_CAPTURE_DEVICE_LIST' });
  });
});

describe('listDevices', () => {
  it('lists every device with its node path and whether the node exists', async () => {
    writeProc(KEYBOARD, TABLET, 'I: Bus=0019 Vendor=0000 Product=0001 Version=0000\nN: Name="No evdev"\nS: Sysfs=/devices/virtual/input/input9\nH: Handlers=kbd\nB: EV=3\n');
    mkfifo(path.join(devDir, 'event1'));
    const rows = await listDevices({ procDevicesPath: procPath, devDir });
    expect(rows.map((r) => [r.id, r.kind, r.path, r.present])).toEqual([
      ['event1', 'keyboard', path.join(devDir, 'event1'), true],
      ['event4', 'pointer-absolute', path.join(devDir, 'event4'), false],
      ['input9', 'other', null, false],
    ]);
    expect(rows[1]).toMatchObject({ vendor: '0627', product: '0001', version: '0001', handlers: ['mouse1', 'event4'], absRange: { xMax: 32767 } });
    await expect(listDevices({ procDevicesPath: path.join(dir, 'missing') })).rejects.toMatchObject({ code: 'ATP_CAPTURE_DEVICE_LIST' });
  });
});
