/**
 * The lab VM for real: Debian's kernel and busybox from apt, the host's qemu-ga
 * and node, the guest agent bundled from the workspace sources, booted under
 * QEMU (TCG). One boot shared by the file; afterAll always stops it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProcInputDevices } from '@atp/protocol';
import { runCli, type CliIo } from '../src/cli/program.js';
import { buildImage } from '../src/lab/image/build.js';
import { EV, findLabInputDevices } from '../src/lab/evdev-codec.js';
import { startGuestEvdevReader } from '../src/lab/guest-evdev-reader.js';
import { defaultCacheDir } from '../src/lab/paths.js';
import { isSameProcessAlive } from '../src/lab/state.js';
import { labDown, labStatus, labUp, type LabUpOptions, type LabVm } from '../src/lab/vm.js';
import { QgaClient } from '../src/vm/qga/index.js';
import { QmpClient, sendKey } from '../src/vm/qmp/index.js';
import { requireBinary } from './support/binaries.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const KEY_A = 30;
let stateDir: string;
let vm: LabVm | undefined;
let qga: QgaClient | undefined;
let options: LabUpOptions;
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** The shared VM and QGA client; beforeAll failing fails every test here. */
function up(): { vm: LabVm; qga: QgaClient } {
  if (!vm || !qga) throw new Error('the lab VM did not start (see beforeAll)');
  return { vm, qga };
}

function captureIo(): CliIo & { output: () => string } {
  let out = '';
  return { out: (t) => void (out += t), err: (t) => void (out += t), output: () => out };
}

beforeAll(async () => {
  requireBinary('qemu-system-x86_64', 'qemu-system-x86');
  requireBinary('qemu-ga', 'qemu-guest-agent');
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'atp-lab-'));
  options = {
    stateDir,
    cacheDir: defaultCacheDir(),
    agent: path.join(repo, 'guest-agent/src/main.ts'),
    agentAliases: { '@atp/protocol': path.join(repo, 'protocol-schemas/src/index.ts') },
    killOnExit: true,
  };
  vm = await labUp(options);
  qga = await QgaClient.connect({ path: vm.state.sockets.qga }, { timeoutMs: 15_000 });
}, 600_000);

afterAll(async () => {
  qga?.close();
  if (stateDir) {
    await labDown({ stateDir });
    await rm(stateDir, { recursive: true, force: true });
  }
}, 60_000);

describe('lab VM', () => {
  it('boots and the guest agent says hello with our token over org.atp.agent.0', () => {
    expect(vm?.hello?.token).toBe(vm?.state.token);
    expect(vm?.hello?.agentId).toBe('lab');
    expect(vm?.hello?.os.release).toBe(vm?.image.kernelRelease);
  });

  it('runs uname -r in the guest through qemu-ga: the Debian kernel', async () => {
    const r = await up().qga.exec('uname', ['-r']);
    expect(r.exitCode).toBe(0);
    expect(text(r.stdout).trim()).toBe(vm?.image.kernelRelease);
    expect(vm?.image.kernelRelease).toMatch(/^6\.1\.0-\d+-amd64$/);
  });

  it('lists the PS/2 keyboard, PS/2 mouse and USB tablet in /proc/bus/input/devices', async () => {
    const r = await up().qga.exec('cat', ['/proc/bus/input/devices']);
    const devices = parseProcInputDevices(text(r.stdout));
    const found = findLabInputDevices(devices);
    expect(found?.keyboard.name).toBe('AT Translated Set 2 keyboard');
    expect(found?.tablet.name).toBe('QEMU QEMU USB Tablet');
    expect(found?.mouse.phys).toBe('isa0060/serio1/input0');
  });

  it('delivers a QMP send-key to the guest kernel: KEY_A down then up on the PS/2 keyboard', async () => {
    const lab = up();
    const keyboard = findLabInputDevices(lab.vm.inputDevices)?.keyboard.eventNode ?? '';
    const reader = await startGuestEvdevReader(lab.qga, keyboard);
    const qmp = await QmpClient.connect({ path: lab.vm.state.sockets.qmp });
    try {
      await sendKey(qmp, [{ type: 'qcode', data: 'a' }]);
      const isA = (value: number) => (e: { type: number; code: number; value: number }) => e.type === EV.KEY && e.code === KEY_A && e.value === value;
      const events = await reader.waitFor((es) => es.some(isA(1)) && es.some(isA(0)), 30_000);
      expect(events.findIndex(isA(1))).toBeLessThan(events.findIndex(isA(0)));
      expect(events.filter((e) => e.type === EV.KEY).map((e) => [e.code, e.value])).toEqual([
        [KEY_A, 1],
        [KEY_A, 0],
      ]);
    } finally {
      await reader.stop();
      await qmp.close();
    }
  });

  it('reuses the cached image for the same inputs', async () => {
    const again = await buildImage(options);
    expect(again.reused).toBe(true);
    expect(again.hash).toBe(vm?.image.hash);
  });

  it('reports the VM through the state file, also via `atp-host lab status`', async () => {
    const status = await labStatus({ stateDir });
    expect(status.running).toBe(true);
    expect(status.qemu?.status).toBe('running');
    const io = captureIo();
    expect(await runCli(['lab', 'status', '--state-dir', stateDir], io)).toBe(0);
    expect(io.output()).toContain(`running: pid ${vm?.state.pid}`);
  });

  it('`lab down` stops QEMU and removes the state', async () => {
    const { pid, pidStartTicks } = up().vm.state;
    qga?.close();
    qga = undefined;
    const io = captureIo();
    expect(await runCli(['lab', 'down', '--state-dir', stateDir], io)).toBe(0);
    expect(io.output()).toContain('lab VM stopped');
    expect(isSameProcessAlive(pid, pidStartTicks)).toBe(false);
    expect((await labStatus({ stateDir })).running).toBe(false);
  });
});
