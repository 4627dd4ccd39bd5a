/**
 * Records real evdev byte streams from the lab guest's kernel as fixtures:
 * boots the lab VM, reads /proc/bus/input/devices, then for each phase starts
 * guest readers on the relevant /dev/input/eventN (see guest-evdev-reader.ts),
 * injects a fixed sequence over QMP, waits until the bytes stop growing, and
 * writes <name>.bin (raw struct input_event records), <name>.txt (decoded)
 * and recording.json (QEMU args, phases, injected steps). `atp-host lab
 * record-fixtures --out DIR` runs it, so the fixtures can be refreshed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError, decodeInputEvents, formatInputEvent, parseProcInputDevices } from '@atp/protocol';
import { QgaClient } from '../vm/qga/index.js';
import { inputSendEvent, QmpClient, sendKey, type QmpInputEvent } from '../vm/qmp/index.js';
import { findLabInputDevices, type InputDeviceInfo } from './evdev-codec.js';
import { startGuestEvdevReader, type GuestEvdevReader } from './guest-evdev-reader.js';
import { labDown, labUp, type LabUpOptions } from './vm.js';

export type RecordStep =
  | { kind: 'send-key'; keys: string[]; holdTimeMs?: number }
  | { kind: 'input-send-event'; events: QmpInputEvent[] }
  | { kind: 'sleep'; ms: number };

type DeviceRole = 'keyboard' | 'mouse' | 'tablet' | 'virtio-keyboard';

export interface RecordPhase {
  name: string;
  description: string;
  /** Devices read during the phase; each yields <name>.<role>.bin. */
  read: DeviceRole[];
  steps: RecordStep[];
}

const key = (qcode: string, down: boolean): QmpInputEvent => ({ type: 'key', down, key: { type: 'qcode', data: qcode } });
const btn = (button: 'left' | 'right' | 'wheel-up' | 'wheel-down', down: boolean): QmpInputEvent => ({ type: 'btn', down, button });
const abs = (x: number, y: number): QmpInputEvent[] => [
  { type: 'abs', axis: 'x', value: x },
  { type: 'abs', axis: 'y', value: y },
];

const KEYBOARD_PHASE: RecordPhase = {
  name: 'ps2-keyboard',
  description: 'PS/2 keyboard: a tap, two modifier combos, and a key held 600 ms (autorepeat)',
  read: ['keyboard'],
  steps: [
    { kind: 'input-send-event', events: [key('a', true)] },
    { kind: 'sleep', ms: 50 },
    { kind: 'input-send-event', events: [key('a', false)] },
    { kind: 'sleep', ms: 300 },
    { kind: 'send-key', keys: ['shift', 'b'], holdTimeMs: 100 },
    { kind: 'sleep', ms: 700 },
    // QEMU spaces send-key's events hold-time apart: 6 events take ~600 ms after the call returns.
    { kind: 'send-key', keys: ['ctrl', 'alt', 'c'], holdTimeMs: 100 },
    { kind: 'sleep', ms: 900 },
    { kind: 'input-send-event', events: [key('x', true)] },
    { kind: 'sleep', ms: 600 },
    { kind: 'input-send-event', events: [key('x', false)] },
  ],
};

export const RECORD_PHASES: readonly RecordPhase[] = [
  KEYBOARD_PHASE,
  {
    name: 'ps2-mouse-rel',
    description: 'relative moves and a left click (QEMU routes relative motion to the PS/2 mouse)',
    read: ['mouse', 'tablet'],
    steps: [
      { kind: 'input-send-event', events: [{ type: 'rel', axis: 'x', value: 10 }, { type: 'rel', axis: 'y', value: 5 }] },
      { kind: 'sleep', ms: 100 },
      { kind: 'input-send-event', events: [{ type: 'rel', axis: 'x', value: -20 }] },
      { kind: 'sleep', ms: 100 },
      { kind: 'input-send-event', events: [btn('left', true)] },
      { kind: 'sleep', ms: 50 },
      { kind: 'input-send-event', events: [btn('left', false)] },
    ],
  },
  {
    name: 'usb-tablet-abs',
    description: 'absolute moves, left and right clicks, wheel up and down (absolute motion goes to the USB tablet)',
    read: ['tablet', 'mouse'],
    steps: [
      { kind: 'input-send-event', events: abs(0, 0) },
      { kind: 'sleep', ms: 100 },
      { kind: 'input-send-event', events: abs(16384, 8192) },
      { kind: 'sleep', ms: 100 },
      { kind: 'input-send-event', events: abs(32767, 32767) },
      { kind: 'sleep', ms: 100 },
      { kind: 'input-send-event', events: [btn('left', true)] },
      { kind: 'sleep', ms: 50 },
      { kind: 'input-send-event', events: [btn('left', false)] },
      { kind: 'sleep', ms: 100 },
      { kind: 'input-send-event', events: [btn('right', true)] },
      { kind: 'sleep', ms: 50 },
      { kind: 'input-send-event', events: [btn('right', false)] },
      { kind: 'sleep', ms: 100 },
      { kind: 'input-send-event', events: [btn('wheel-up', true)] },
      { kind: 'input-send-event', events: [btn('wheel-up', false)] },
      { kind: 'sleep', ms: 100 },
      { kind: 'input-send-event', events: [btn('wheel-down', true)] },
      { kind: 'input-send-event', events: [btn('wheel-down', false)] },
    ],
  },
];

async function runStep(qmp: QmpClient, step: RecordStep): Promise<void> {
  if (step.kind === 'sleep') await sleep(step.ms);
  else if (step.kind === 'send-key') await sendKey(qmp, step.keys.map((k) => ({ type: 'qcode', data: k })), step.holdTimeMs === undefined ? {} : { holdTimeMs: step.holdTimeMs });
  else await inputSendEvent(qmp, step.events);
}

/** Waits until the reader's byte count has not changed for `quietMs`. */
async function settle(reader: GuestEvdevReader, quietMs = 1500, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < until) {
    const n = (await reader.bytes()).length;
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(200);
  }
}

export interface RecordOptions extends LabUpOptions {
  outDir: string;
  phases?: readonly RecordPhase[];
  /** Prefix of every file written (e.g. 'virtio-'), so several runs share one folder. */
  prefix?: string;
  log?: (line: string) => void;
}

/** The keyboard phase again with -device virtio-keyboard-pci, where keys go once its driver is bound. */
export const VIRTIO_KEYBOARD_PHASES: readonly RecordPhase[] = [
  { ...KEYBOARD_PHASE, name: 'virtio-keyboard', description: 'virtio keyboard: the same keys as ps2-keyboard', read: ['virtio-keyboard', 'keyboard'] },
];

type Roles = Record<DeviceRole, InputDeviceInfo | undefined>;

/** Re-reads the device list until every role the phases need is bound (the virtio keyboard may come late). */
async function findRoles(qga: QgaClient, phases: readonly RecordPhase[]): Promise<{ roles: Roles; text: string }> {
  const until = Date.now() + 30_000;
  for (;;) {
    const text = Buffer.from((await qga.exec('/bin/cat', ['/proc/bus/input/devices'])).stdout).toString('utf8');
    const devices = parseProcInputDevices(text);
    const base = findLabInputDevices(devices);
    const roles: Roles = { keyboard: base?.keyboard, mouse: base?.mouse, tablet: base?.tablet, 'virtio-keyboard': devices.find((d) => d.name.includes('Virtio Keyboard') && d.eventNode) };
    const missing = [...new Set(phases.flatMap((p) => p.read))].filter((r) => roles[r] === undefined);
    if (missing.length === 0) return { roles, text };
    if (Date.now() > until) throw new AtpError('ATP_LAB_BOOT', `the guest lacks input devices: ${missing.join(', ')}`, { details: { missing } });
    await sleep(500);
  }
}

export async function recordFixtures(options: RecordOptions): Promise<string[]> {
  const log = options.log ?? (() => undefined);
  const prefix = options.prefix ?? '';
  const written: string[] = [];
  const put = async (name: string, data: string | Uint8Array): Promise<void> => {
    await writeFile(path.join(options.outDir, name), data);
    written.push(name);
  };
  await mkdir(options.outDir, { recursive: true });
  const vm = await labUp({ ...options, waitForAgent: false });
  try {
    const qga = await QgaClient.connect({ path: vm.state.sockets.qga }, { timeoutMs: 15_000 });
    const qmp = await QmpClient.connect({ path: vm.state.sockets.qmp });
    try {
      const phases = options.phases ?? RECORD_PHASES;
      const { roles, text: devicesText } = await findRoles(qga, phases);
      await put(`${prefix}input-devices.txt`, devicesText);
      for (const phase of phases) {
        log(`recording ${phase.name}`);
        const readers = await Promise.all(phase.read.map(async (role) => ({ role, reader: await startGuestEvdevReader(qga, roles[role]?.eventNode ?? '') })));
        for (const step of phase.steps) await runStep(qmp, step);
        for (const { reader } of readers) await settle(reader);
        for (const { role, reader } of readers) {
          const bytes = await reader.stop();
          const stem = `${phase.name}.${role}`;
          await put(`${stem}.bin`, bytes);
          await put(`${stem}.txt`, decodeInputEvents(bytes).map((e) => `${formatInputEvent(e)}\n`).join(''));
        }
      }
      const meta = {
        recordedAt: new Date().toISOString(),
        kernel: vm.image.kernelPackage,
        kernelRelease: vm.image.kernelRelease,
        accel: vm.state.accel,
        qemuArgs: vm.state.args.map((a) => a.replace(vm.state.token, '<token>')),
        devices: Object.fromEntries(Object.entries(roles).flatMap(([role, d]) => (d ? [[role, { name: d.name, eventNode: d.eventNode, phys: d.phys }]] : []))),
        phases,
      };
      await put(`${prefix}recording.json`, `${JSON.stringify(meta, null, 2)}\n`);
    } finally {
      qga.close();
      await qmp.close();
    }
  } finally {
    await labDown({ stateDir: vm.state.stateDir });
  }
  return written;
}
