/**
 * The agent on a guest that looks like a desktop: the lab VM with the desktop
 * input set (PS/2 keyboard and mouse, USB tablet, USB keyboard, virtio keyboard,
 * mouse and tablet, ACPI power button, PC speaker) plus four more devices, so
 * more than a dozen evdev nodes (an agent that held a libuv pool thread per
 * device never said hello with four). One boot serves every test: hello and
 * capture from every device, scenarios/smoke.yaml through the PS/2 and through
 * the virtio keyboard (the report says which), and a USB keyboard hot-added and
 * removed through QMP while the agent runs.
 *
 * Each extra device is bound to its own head of the lab's input display, so QMP
 * input reaches exactly one device (host/src/lab/input-devices.ts).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObservedEvent } from '@atp/protocol';
import type { HubItem } from '../host/src/hub/index.js';
import { QmpInjector } from '../host/src/inject/index.js';
import { boundToHead, keyboardRoute, LAB_INPUT_DISPLAY, type InputRoute } from '../host/src/lab/index.js';
import { loadSuite, parseSuiteText, runSuite, type LoadedSuite, type SuiteRun } from '../host/src/scenario/index.js';
import { deviceAdd, deviceDel, inputSendEvent, systemPowerdown, type QmpInputEvent } from '../host/src/vm/qmp/index.js';
import { StreamCollector } from '../host/test/support/hub-collect.js';
import { startE2eLab, type E2eLab } from './support/e2e-lab.js';

const repo = fileURLToPath(new URL('../', import.meta.url));
/** A second console provider with one head, for the hot-plugged USB keyboard (usb-kbd binds to head 0 only). */
const HOTPLUG_DISPLAY = 'x-hotplug-display';
const EXTRA = [
  boundToHead('virtio-keyboard-pci,id=x-vkbd2', 4),
  boundToHead('virtio-tablet-pci,id=x-vtablet2', 5),
  boundToHead('usb-tablet,id=x-utablet2,bus=xhci0.0', 6),
  boundToHead('virtio-mouse-pci,id=x-vmouse2', 7),
  `virtio-gpu-pci,id=${HOTPLUG_DISPLAY}`,
];

let lab: E2eLab | undefined;
let collector: StreamCollector | undefined;

beforeAll(async () => {
  lab = await startE2eLab({ inputProfile: 'desktop', extraDevices: EXTRA });
  collector = new StreamCollector(lab.target.hub.stream(lab.target.agentId));
}, 600_000);

afterAll(async () => {
  await lab?.stop();
}, 120_000);

function up(): E2eLab & { items: StreamCollector } {
  if (lab === undefined || collector === undefined) throw new Error('the lab VM did not start (see beforeAll)');
  return { ...lab, items: collector };
}

const key = (down: boolean): QmpInputEvent => ({ type: 'key', down, key: { type: 'qcode', data: 'a' } });
const events = (items: readonly HubItem[]): ObservedEvent[] => items.flatMap((i) => (i.kind === 'event' ? [i.event] : []));

/** The devices the agent has open now (id → name), from its device events since it started. */
function openDevices(): Map<string, string> {
  const open = new Map<string, string>();
  for (const e of events(up().items.items)) {
    if (e.kind !== 'device') continue;
    if (e.change === 'added') open.set(e.device, e.info.name);
    else open.delete(e.device);
  }
  return open;
}

/**
 * Injects `send` through `route`; resolves with the device id of the first new
 * event of `kind` (for keys, the first press: the previous route's release may
 * still be on its way), after that device's release arrived too.
 */
async function deviceOf(route: InputRoute, send: QmpInputEvent[], kind: ObservedEvent['kind'], what: string): Promise<string> {
  const { target, items } = up();
  const before = items.items.length;
  const fresh = (): ObservedEvent[] => events(items.items.slice(before));
  const first = (): ObservedEvent | undefined => fresh().find((e) => e.kind === kind && (e.kind !== 'key' || e.action === 'down'));
  await inputSendEvent(target.qmp, send, route);
  await items.until(() => first() !== undefined, `a ${kind} event from ${what}`, 30_000);
  const device = first()?.device ?? '';
  if (kind === 'key') await items.until(() => fresh().some((e) => e.kind === 'key' && e.action === 'up' && e.device === device), `the release from ${what}`, 30_000);
  return device;
}

async function suite(loaded: LoadedSuite, route: InputRoute, inputDevice: string): Promise<SuiteRun> {
  const { target } = up();
  const injector = new QmpInjector({ executor: target.qmp, screen: loaded.scenario.target.screen, ...route });
  try {
    return await runSuite(loaded, { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp, clock: target.clock, inputDevice }, { pacing: { rate: 20 } });
  } finally {
    await injector.close();
  }
}

function expectPassed(run: SuiteRun): void {
  expect(run.report.findings.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
  expect(run.report.verdict).toBe('pass');
  expect(run.report.agentProblems ?? []).toEqual([]);
}

describe('agent on a desktop-like guest', () => {
  it('says hello with every input device open and captures from each of them', async () => {
    const { target, items } = up();
    expect(target.vm.bootMs).toBeLessThan(240_000);
    const hello = target.hub.agentHello(target.agentId);
    // USB devices may enumerate after the hello: the agent reports each one it opens as a device event.
    await items.until(() => openDevices().size >= 13, '13 open input devices', 60_000);
    const names = [...openDevices().values()];
    expect(names, names.join(', ')).toHaveLength(13);
    for (const expected of ['AT Translated Set 2 keyboard', 'Power Button', 'PC Speaker', 'QEMU QEMU USB Keyboard', 'QEMU Virtio Keyboard', 'QEMU Virtio Mouse', 'QEMU Virtio Tablet']) {
      expect(names).toContain(expected);
    }
    expect(hello?.problems ?? []).toEqual([]);

    const abs = (x: number, y: number): QmpInputEvent[] => [
      { type: 'abs', axis: 'x', value: x },
      { type: 'abs', axis: 'y', value: y },
    ];
    const rel = (dx: number): QmpInputEvent[] => [{ type: 'rel', axis: 'x', value: dx }];
    const head = (n: number): InputRoute => ({ device: LAB_INPUT_DISPLAY, head: n });
    const sources = [
      { what: 'the PS/2 keyboard', route: keyboardRoute('ps2'), send: [key(true), key(false)], kind: 'key' as const, name: 'AT Translated Set 2 keyboard' },
      { what: 'the PS/2 mouse', route: {}, send: rel(7), kind: 'rel' as const, name: 'ImExPS/2 Generic Explorer Mouse' },
      { what: 'the USB tablet', route: {}, send: abs(1000, 2000), kind: 'abs' as const, name: 'QEMU QEMU USB Tablet' },
      { what: 'the USB keyboard', route: keyboardRoute('usb'), send: [key(true), key(false)], kind: 'key' as const, name: 'QEMU QEMU USB Keyboard' },
      { what: 'the virtio keyboard', route: keyboardRoute('virtio'), send: [key(true), key(false)], kind: 'key' as const, name: 'QEMU Virtio Keyboard' },
      { what: 'the virtio mouse', route: head(2), send: rel(9), kind: 'rel' as const, name: 'QEMU Virtio Mouse' },
      { what: 'the virtio tablet', route: head(3), send: abs(3000, 4000), kind: 'abs' as const, name: 'QEMU Virtio Tablet' },
      { what: 'the second virtio keyboard', route: head(4), send: [key(true), key(false)], kind: 'key' as const, name: 'QEMU Virtio Keyboard' },
      { what: 'the second virtio tablet', route: head(5), send: abs(5000, 6000), kind: 'abs' as const, name: 'QEMU Virtio Tablet' },
      { what: 'the second USB tablet', route: head(6), send: abs(7000, 8000), kind: 'abs' as const, name: 'QEMU QEMU USB Tablet' },
      { what: 'the second virtio mouse', route: head(7), send: rel(11), kind: 'rel' as const, name: 'QEMU Virtio Mouse' },
    ];
    const seen = new Map<string, string>();
    for (const s of sources) {
      const id = await deviceOf(s.route, s.send, s.kind, s.what);
      expect(openDevices().get(id), `${s.what} (${id})`).toBe(s.name);
      expect(seen.get(id), `${s.what} and ${seen.get(id) ?? ''} are one device`).toBeUndefined();
      seen.set(id, s.what);
    }
    // The ACPI power button (system_powerdown) reports KEY_POWER; the guest has no acpid to act on it.
    const before = up().items.items.length;
    await systemPowerdown(target.qmp);
    await up().items.until((all) => events(all.slice(before)).some((e) => e.kind === 'key' && e.key === 'KEY_POWER'), 'KEY_POWER');
    const power = events(up().items.items.slice(before)).find((e) => e.kind === 'key' && e.key === 'KEY_POWER');
    expect(openDevices().get(power?.device ?? '')).toBe('Power Button');
  }, 180_000);

  it('passes scenarios/smoke.yaml through the PS/2 keyboard and through the virtio keyboard, and the report says which', async () => {
    const loaded = await loadSuite(path.join(repo, 'scenarios/smoke.yaml'));
    const ps2 = await suite(loaded, keyboardRoute('ps2'), 'ps2 keyboard');
    expectPassed(ps2);
    const virtio = await suite(loaded, keyboardRoute('virtio'), 'virtio keyboard');
    expectPassed(virtio);
    const keysFrom = (run: SuiteRun): string[] => (run.report.devices ?? []).filter((d) => d.events > 0 && d.kind === 'keyboard').map((d) => d.name ?? d.id);
    expect(ps2.report.target.inputDevice).toBe('ps2 keyboard');
    expect(keysFrom(ps2)).toEqual(['AT Translated Set 2 keyboard']);
    expect(virtio.report.target.inputDevice).toBe('virtio keyboard');
    expect(keysFrom(virtio)).toEqual(['QEMU Virtio Keyboard']);
  }, 300_000);

  it('follows a USB keyboard hot-added and removed through QMP: its keys are attributed to it, the removal is reported, the agent carries on', async () => {
    const { target, items } = up();
    const newDevice = (from: number, change: 'added' | 'removed'): string | undefined => {
      const e = events(items.items.slice(from)).find((x) => x.kind === 'device' && x.change === change && x.info.name === 'QEMU QEMU USB Keyboard');
      return e?.device;
    };
    // Plugged while a suite runs, typing through the PS/2 keyboard: the suite passes and its report lists the device coming and going.
    const loaded = parseSuiteText(
      ['version: 1', 'name: hotplug', 'target: { vm: lab, layout: us, screen: { width: 1024, height: 768 } }', 'observer: agent', 'steps:', '  - type: hotplug', '  - wait: 6000', '  - type: done', '  - expect: { keys: exact }', ''].join('\n'),
      'hotplug.yaml',
    );
    const mark = items.items.length;
    const running = suite(loaded, keyboardRoute('ps2'), 'ps2 keyboard');
    await items.until((all) => events(all.slice(mark)).filter((e) => e.kind === 'key').length >= 14, 'the first word typed');
    await deviceAdd(target.qmp, { driver: 'usb-kbd', id: 'x-hot-kbd', bus: 'xhci0.0', display: HOTPLUG_DISPLAY });
    await items.until(() => newDevice(mark, 'added') !== undefined, 'the hot-added keyboard');
    await deviceDel(target.qmp, 'x-hot-kbd');
    await items.until(() => newDevice(mark, 'removed') !== undefined, 'its removal');
    const run = await running;
    expectPassed(run);
    const hot = run.report.devices?.find((d) => d.id === newDevice(mark, 'added'));
    expect(hot).toMatchObject({ name: 'QEMU QEMU USB Keyboard', added: true, removed: true, events: 0 });

    // Plugged again: keys sent to it arrive from it, and after it is gone the agent still captures.
    const again = items.items.length;
    await deviceAdd(target.qmp, { driver: 'usb-kbd', id: 'x-hot-kbd2', bus: 'xhci0.0', display: HOTPLUG_DISPLAY });
    await items.until(() => newDevice(again, 'added') !== undefined, 'the second hot-added keyboard');
    const hotId = newDevice(again, 'added');
    expect(await deviceOf({ device: HOTPLUG_DISPLAY }, [key(true), key(false)], 'key', 'the hot-added keyboard')).toBe(hotId);
    await deviceDel(target.qmp, 'x-hot-kbd2');
    await items.until(() => newDevice(again, 'removed') === hotId, 'the second removal');
    const ps2 = await deviceOf(keyboardRoute('ps2'), [key(true), key(false)], 'key', 'the PS/2 keyboard after the removal');
    expect(openDevices().get(ps2)).toBe('AT Translated Set 2 keyboard');
    expect(target.hub.sessions().filter((s) => s.agentId === target.agentId && s.state === 'active')).toHaveLength(1);
  }, 240_000);
});
