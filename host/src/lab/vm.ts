/**
 * The lab VM's lifecycle: `labUp` builds (or reuses) the image, starts QEMU
 * detached, writes the state file and waits until qemu-ga (and the agent)
 * answer; `labStatus` and `labDown` work from any process through the state
 * file. `labDown` asks QEMU to quit over QMP, then SIGTERM, then SIGKILL, and
 * never signals a pid that is no longer our QEMU.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError, type HelloBody } from '@atp/protocol';
import { QmpClient, queryStatus, quit, type QmpStatus } from '../vm/qmp/index.js';
import { buildImage, type BuildImageOptions, type LabImage } from './image/build.js';
import { defaultStateDir, statePaths } from './paths.js';
import { assertPrerequisites, requireExecutable } from './prereqs.js';
import { waitForAgentHello, waitForInputDevices, waitForQga, type ReadyProbe } from './ready.js';
import type { InputDeviceInfo } from './evdev-codec.js';
import { isSameProcessAlive, processStartTicks, readLabState, writeLabState, type LabState } from './state.js';
import { buildQemuArgs, isValidAgentId, isValidLabToken, type LabAccel } from './vm-args.js';
import { keyboardRoute, type InputRoute, type LabInputProfile, type LabKeyboard } from './input-devices.js';

export interface LabUpOptions extends BuildImageOptions {
  stateDir?: string;
  /** Default: $ATP_LAB_ACCEL, else 'tcg' (a /dev/kvm that opens is not proof that KVM boots a guest). */
  accel?: LabAccel;
  memoryMb?: number;
  /** TCG translation cache in MiB (default DEFAULT_TCG_TB_SIZE_MB in vm-args.ts, where the figures are). */
  tbSizeMb?: number;
  /** An image already built (the fleet builds once for N VMs); default: buildImage(options). */
  image?: LabImage;
  /** Default: 32 random hex characters. */
  token?: string;
  agentId?: string;
  /** The VM's SMBIOS system UUID (QEMU `-uuid`; default a random one, so every lab VM has its own, as libvirt clones do). */
  uuid?: string;
  /** The guest's input devices (default 'minimal'; input-devices.ts). */
  inputProfile?: LabInputProfile;
  /** Which keyboard QMP input is routed to (default 'ps2'; 'virtio' and 'usb' need the desktop profile). */
  keyboard?: LabKeyboard;
  /** Extra -device values, e.g. 'virtio-keyboard-pci'. */
  extraDevices?: readonly string[];
  /** How long to wait for qemu-ga and the agent (default 240 s: TCG on a loaded machine). */
  readyTimeoutMs?: number;
  /** Wait for the agent's hello (default: when the image has an agent). */
  waitForAgent?: boolean;
  /** SIGKILL QEMU when this Node process exits (tests). */
  killOnExit?: boolean;
}

export interface LabVm {
  state: LabState;
  image: LabImage;
  /** From QEMU's start to ready, in ms. */
  bootMs: number;
  /** /proc/bus/input/devices when ready (PS/2 keyboard and mouse, USB tablet, extras). */
  inputDevices: InputDeviceInfo[];
  hello?: HelloBody;
  /** Where input-send-event must aim to reach the chosen keyboard. */
  route: InputRoute;
}

export interface LabDirOptions {
  stateDir?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** QEMUs to SIGKILL when this process exits (killOnExit): one 'exit' listener for all of them, however many VMs a run boots. */
const exitHooks = new Map<number, () => void>();
let exitListener: (() => void) | undefined;
function killAllOnExit(pid: number, kill: () => void): void {
  exitHooks.set(pid, kill);
  if (exitListener === undefined) {
    exitListener = () => {
      for (const k of exitHooks.values()) k();
    };
    process.once('exit', exitListener);
  }
}

function resolveAccel(accel: LabAccel | undefined): LabAccel {
  const chosen = accel ?? process.env.ATP_LAB_ACCEL ?? 'tcg';
  if (chosen !== 'tcg' && chosen !== 'kvm') throw new AtpError('ATP_SCHEMA_INVALID', `accel must be tcg or kvm, got ${JSON.stringify(chosen)}`, { details: { field: 'accel' } });
  return chosen;
}

async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function labUp(options: LabUpOptions = {}): Promise<LabVm> {
  assertPrerequisites();
  const stateDir = options.stateDir ?? defaultStateDir();
  const paths = statePaths(stateDir);
  const previous = await readLabState(paths.stateFile);
  if (previous && isSameProcessAlive(previous.pid, previous.pidStartTicks)) {
    throw new AtpError('ATP_LAB_STATE', `a lab VM is already running (pid ${previous.pid}, state ${stateDir}); run \`atp-host lab down\` first`, { details: { pid: previous.pid, stateDir } });
  }
  const token = options.token ?? randomBytes(16).toString('hex');
  const agentId = options.agentId ?? 'lab';
  if (!isValidLabToken(token)) throw new AtpError('ATP_SCHEMA_INVALID', 'the lab token may only hold letters, digits and . _ - (1–256 characters)', { details: { field: 'token' } });
  if (!isValidAgentId(agentId)) throw new AtpError('ATP_SCHEMA_INVALID', 'the agent id may only hold letters, digits and . _ : - (1–128 characters)', { details: { field: 'agentId' } });
  const uuid = (options.uuid ?? randomUUID()).toLowerCase();
  if (!UUID.test(uuid)) throw new AtpError('ATP_SCHEMA_INVALID', `the VM uuid must look like 8-4-4-4-12 hex digits, got ${JSON.stringify(options.uuid)}`, { details: { field: 'uuid' } });
  const accel = resolveAccel(options.accel);
  if (options.tbSizeMb !== undefined && !(Number.isInteger(options.tbSizeMb) && options.tbSizeMb > 0)) {
    throw new AtpError('ATP_SCHEMA_INVALID', `tbSizeMb must be a positive integer (MiB), got ${String(options.tbSizeMb)}`, { details: { field: 'tbSizeMb' } });
  }
  const input = { profile: options.inputProfile ?? 'minimal', keyboard: options.keyboard ?? 'ps2' } as const;
  if (input.keyboard !== 'ps2' && input.profile !== 'desktop') {
    throw new AtpError('ATP_SCHEMA_INVALID', `the ${input.keyboard} keyboard exists only in the desktop input profile (--input desktop)`, { details: { field: 'keyboard' } });
  }
  const image = options.image ?? (await buildImage(options));

  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  for (const f of [paths.stateFile, paths.qmp, paths.qga, paths.agent, paths.console, paths.qemuLog, paths.token]) await rm(f, { force: true });
  await writeFile(paths.token, token, { mode: 0o600 });
  const args = buildQemuArgs({
    kernel: image.kernel,
    initrd: image.initrd,
    paths,
    tokenFile: paths.token,
    agentId,
    uuid,
    accel,
    memoryMb: options.memoryMb ?? 384,
    ...(options.tbSizeMb === undefined ? {} : { tbSizeMb: options.tbSizeMb }),
    inputProfile: input.profile,
    ...(options.extraDevices === undefined ? {} : { extraDevices: options.extraDevices }),
  });
  const logFd = openSync(paths.qemuLog, 'a');
  const started = Date.now();
  let exited = false;
  const child = spawn(requireExecutable('qemu-system-x86_64'), args, { detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  child.once('exit', () => {
    exited = true;
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  child.unref();
  const pid = child.pid;
  const startTicks = pid === undefined ? undefined : processStartTicks(pid);
  if (pid === undefined || startTicks === undefined) {
    const error = await Promise.race([spawnError, sleep(1000).then(() => new Error('no pid'))]);
    throw new AtpError('ATP_LAB_BOOT', `cannot start qemu-system-x86_64: ${error.message}\n${await tail(paths.qemuLog)}`, { cause: error });
  }
  if (options.killOnExit) killAllOnExit(pid, () => void child.kill('SIGKILL'));
  const state: LabState = {
    version: 1,
    pid,
    pidStartTicks: startTicks,
    startedAt: new Date(started).toISOString(),
    token,
    agentId,
    uuid,
    accel,
    stateDir,
    sockets: { qmp: paths.qmp, qga: paths.qga, agent: paths.agent },
    console: paths.console,
    qemuLog: paths.qemuLog,
    image: { hash: image.hash, kernel: image.kernel, initrd: image.initrd, kernelRelease: image.kernelRelease, hasAgent: image.hasAgent },
    args,
    input,
  };
  await writeLabState(paths.stateFile, state);

  const probe: ReadyProbe = {
    deadline: started + (options.readyTimeoutMs ?? 240_000),
    alive: () => !exited && isSameProcessAlive(pid, startTicks),
    fail: async (what) =>
      new AtpError('ATP_LAB_BOOT', `lab VM not ready: ${what}\n--- qemu log ---\n${await tail(paths.qemuLog, 10)}\n--- console (last lines) ---\n${await tail(paths.console)}`, {
        details: { stateDir, pid },
      }),
  };
  try {
    await waitForQga(paths.qga, probe);
    const inputDevices = await waitForInputDevices(paths.qga, probe);
    const hello = (options.waitForAgent ?? image.hasAgent) ? await waitForAgentHello(paths.agent, token, probe) : undefined;
    return { state, image, bootMs: Date.now() - started, inputDevices, route: keyboardRoute(input.keyboard), ...(hello ? { hello } : {}) };
  } catch (error) {
    await labDown({ stateDir });
    throw error;
  }
}

export interface LabStatus {
  running: boolean;
  state?: LabState;
  /** QEMU's run state from QMP query-status, when it answered. */
  qemu?: QmpStatus;
}

export async function labStatus(options: LabDirOptions = {}): Promise<LabStatus> {
  const state = await readLabState(statePaths(options.stateDir ?? defaultStateDir()).stateFile);
  if (!state) return { running: false };
  if (!isSameProcessAlive(state.pid, state.pidStartTicks)) return { running: false, state };
  let qemu: QmpStatus | undefined;
  try {
    const qmp = await QmpClient.connect({ path: state.sockets.qmp }, { connectTimeoutMs: 3000 });
    try {
      qemu = await queryStatus(qmp, { timeoutMs: 3000 });
    } finally {
      await qmp.close();
    }
  } catch {
    // QMP busy (one client at a time is fine for QEMU, but it may be mid-shutdown)
  }
  return { running: true, state, ...(qemu ? { qemu } : {}) };
}

async function waitGone(pid: number, ticks: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (isSameProcessAlive(pid, ticks)) {
    if (Date.now() > until) return false;
    await sleep(50);
  }
  return true;
}

/** Stops the VM (QMP quit, SIGTERM, SIGKILL) and removes the state file and sockets. Resolves with whether a VM was running. */
export async function labDown(options: LabDirOptions = {}): Promise<{ wasRunning: boolean }> {
  const paths = statePaths(options.stateDir ?? defaultStateDir());
  const state = await readLabState(paths.stateFile);
  if (!state) return { wasRunning: false };
  const { pid, pidStartTicks: ticks } = state;
  const wasRunning = isSameProcessAlive(pid, ticks);
  if (wasRunning) {
    try {
      const qmp = await QmpClient.connect({ path: state.sockets.qmp }, { connectTimeoutMs: 2000 });
      await quit(qmp, { timeoutMs: 3000 }).finally(() => qmp.close());
    } catch {
      // fall through to signals
    }
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      if (await waitGone(pid, ticks, 5000)) break;
      if (isSameProcessAlive(pid, ticks)) process.kill(pid, signal);
    }
    if (!(await waitGone(pid, ticks, 5000))) throw new AtpError('ATP_LAB_STATE', `QEMU (pid ${pid}) survived SIGKILL`, { details: { pid } });
  }
  exitHooks.delete(pid);
  for (const f of [paths.stateFile, paths.qmp, paths.qga, paths.agent, paths.token]) await rm(f, { force: true });
  return { wasRunning };
}

/** The serial console log so far ('' before the first boot). */
export async function readConsole(options: LabDirOptions = {}): Promise<string> {
  const paths = statePaths(options.stateDir ?? defaultStateDir());
  const state = await readLabState(paths.stateFile).catch(() => undefined);
  try {
    return await readFile(state?.console ?? paths.console, 'utf8');
  } catch {
    return '';
  }
}
