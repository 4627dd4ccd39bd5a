/**
 * The lab VM's lifecycle: `labUp` builds (or reuses) the image, starts QEMU
 * detached, writes the state file and waits until qemu-ga (and the agent)
 * answer; `labStatus` and `labDown` work from any process through the state
 * file. `labDown` asks QEMU to quit over QMP, then SIGTERM, then SIGKILL, and
 * never signals a pid that is no longer our QEMU. With `display`, QEMU also
 * runs SPICE and/or VNC servers (display.ts); a SPICE TLS port that another
 * process took before QEMU bound it makes QEMU exit at start-up, and labUp
 * starts it again on a new port (up to TLS_PORT_ATTEMPTS times).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AtpError, type HelloBody } from '@atp/protocol';
import { QmpClient, queryStatus, quit, type QmpStatus } from '../vm/qmp/index.js';
import { buildImage, type BuildImageOptions, type LabImage } from './image/build.js';
import { defaultStateDir, statePaths } from './paths.js';
import { assertPrerequisites } from './prereqs.js';
import { prepareLabDisplay, spiceBindFailed, LAB_TLS_HOST, type LabDisplayAttempt, type LabDisplayOptions } from './display.js';
import { fileSize, forgetQemuExitHook, readFrom, spawnQemu, tailFile as tail, waitQemuStarted, type QemuProcess } from './qemu-process.js';
import { waitForAgentHello, waitForInputDevices, waitForQga, type ReadyProbe } from './ready.js';
import type { InputDeviceInfo } from './evdev-codec.js';
import { isSameProcessAlive, readLabState, writeLabState, type LabState } from './state.js';
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
  /** SPICE and/or VNC servers (lab/display.ts); their endpoints go into the state (labDisplayEndpoint). Default none. */
  display?: LabDisplayOptions;
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

/** QEMU starts when the TLS port chosen for SPICE was taken before QEMU bound it (display.ts). */
const TLS_PORT_ATTEMPTS = 3;

function resolveAccel(accel: LabAccel | undefined): LabAccel {
  const chosen = accel ?? process.env.ATP_LAB_ACCEL ?? 'tcg';
  if (chosen !== 'tcg' && chosen !== 'kvm') throw new AtpError('ATP_SCHEMA_INVALID', `accel must be tcg or kvm, got ${JSON.stringify(chosen)}`, { details: { field: 'accel' } });
  return chosen;
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
  await removeStateFiles(paths, true);
  await writeFile(paths.token, token, { mode: 0o600 });
  const display = options.display === undefined ? undefined : await prepareLabDisplay(options.display, paths);
  const argsFor = (attempt: LabDisplayAttempt | undefined): string[] =>
    buildQemuArgs({
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
      ...(attempt === undefined ? {} : { display: attempt.args }),
    });
  const started = Date.now();
  const deadline = started + (options.readyTimeoutMs ?? 240_000);
  let attempt = await display?.attempt();
  let args = argsFor(attempt);
  let qemu: QemuProcess | undefined;
  try {
    for (let n = 1; ; n++) {
      const logStart = await fileSize(paths.qemuLog);
      qemu = await spawnQemu(args, paths.qemuLog, { killOnExit: options.killOnExit === true });
      const tlsPort = attempt?.tlsPort;
      // Only a TLS port can be taken between choosing and binding it (display.ts); unix sockets are ours.
      if (tlsPort === undefined || (await waitQemuStarted(paths.qmp, qemu, deadline)) === 'up') break;
      forgetQemuExitHook(qemu.pid);
      const log = await readFrom(paths.qemuLog, logStart);
      const portTaken = spiceBindFailed(log, LAB_TLS_HOST, tlsPort);
      if (!portTaken || n >= TLS_PORT_ATTEMPTS || attempt?.retryable !== true) {
        const why = !portTaken ? 'QEMU exited during start-up' : n === 1 ? `the SPICE TLS port ${LAB_TLS_HOST}:${tlsPort} is in use` : `could not bind a SPICE TLS port on ${LAB_TLS_HOST} in ${n} attempts (last ${tlsPort})`;
        throw new AtpError('ATP_LAB_BOOT', `lab VM not started: ${why}\n--- qemu log ---\n${log.split('\n').slice(-10).join('\n')}`, { details: { stateDir, tlsPort } });
      }
      attempt = await display?.attempt();
      args = argsFor(attempt);
    }
  } catch (error) {
    // No state file names this QEMU yet: stop it here, and drop the secrets written for it.
    if (qemu !== undefined && !qemu.exited()) process.kill(qemu.pid, 'SIGKILL');
    if (qemu !== undefined) forgetQemuExitHook(qemu.pid);
    await removeStateFiles(paths, false);
    throw error;
  }
  const running = qemu;
  const { pid, startTicks } = qemu;
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
    ...(attempt === undefined ? {} : { display: attempt.record }),
  };
  await writeLabState(paths.stateFile, state);

  const probe: ReadyProbe = {
    deadline,
    alive: () => !running.exited(),
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
  forgetQemuExitHook(pid);
  await removeStateFiles(paths, false);
  return { wasRunning };
}

/** The state file, sockets and secrets of a VM (and its logs too when `logs`). */
async function removeStateFiles(paths: ReturnType<typeof statePaths>, logs: boolean): Promise<void> {
  const files = [paths.stateFile, paths.qmp, paths.qga, paths.agent, paths.token, paths.spice, paths.vnc, paths.spicePassword, paths.vncPassword];
  for (const f of [...files, ...(logs ? [paths.console, paths.qemuLog] : [])]) await rm(f, { force: true });
  await rm(paths.x509, { recursive: true, force: true });
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
