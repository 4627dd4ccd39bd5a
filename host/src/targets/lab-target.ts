/**
 * A verify target on the lab VM: the hub connects to the agent's chardev socket
 * BEFORE the VM boots (QEMU's chardev takes one client at a time, so the lab's
 * own wait-for-hello is skipped: the hub's session is the proof the agent is
 * up), then the lab VM boots with the agent and its own token, QMP connects,
 * and the agent's session is awaited. The session is bound to the VM: its token
 * and its channel belong to the VM's label and SMBIOS UUID, so a run's one hub
 * tells its lab VMs apart whatever their agents call themselves.
 * `close()` always takes everything down, the VM first; it is safe to call
 * twice and from a signal handler.
 *
 * `startLabTarget` owns a hub of its own (tests, benches); `labOpener` opens a
 * VM on the run's hub for the run engine.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AtpError, type ClockEstimate } from '@atp/protocol';
import { AgentHub, type EventStore } from '../hub/index.js';
import { keyboardRoute, labDown, labUp, statePaths, type InputRoute, type LabDisplayOptions, type LabInputProfile, type LabKeyboard, type LabState, type LabUpOptions, type LabVm } from '../lab/index.js';
import { prerequisiteError } from '../lab/prereqs.js';
import { qgaClockEstimate, waitForAgentSession } from '../scenario/index.js';
import { QgaClient } from '../vm/qga/index.js';
import { QmpClient } from '../vm/qmp/index.js';
import type { Semaphore } from '../vm/ssh/semaphore.js';
import { makeTarget, type Target, type TargetContext, type TargetOpener } from './target.js';

export interface LabTargetOptions {
  /** State dir of the VM (default: a fresh temp dir, removed on close). */
  stateDir?: string;
  /** The VM's name in the hub and reports, and its agent id (default 'lab'). */
  label?: string;
  /** Guest RAM in MiB (labUp's default when absent). */
  memoryMb?: number;
  cacheDir?: string;
  /** Guest agent entry or dist dir (default: guest-agent/src/main.ts of this checkout). */
  agent?: string;
  /** A prebuilt single-file agent (linux-x64 Node SEA) run instead of node + bundle; exclusive with `agent`. */
  agentBinary?: string;
  accel?: LabUpOptions['accel'];
  inputProfile?: LabInputProfile;
  keyboard?: LabKeyboard;
  extraDevices?: readonly string[];
  /** SPICE and/or VNC servers on the VM, for the spice and vnc injectors (lab/display.ts). Default none. */
  display?: LabDisplayOptions;
  readyTimeoutMs?: number;
  /** SIGKILL QEMU if this process exits without closing (tests). */
  killOnExit?: boolean;
  log?: (line: string) => void;
  /** Called at once with the target's close(), so a signal handler can stop a VM that is still booting. */
  onClose?: (close: () => Promise<void>) => void;
  /** The event store of the hub startLabTarget creates (default: in memory), e.g. a journal on a given disk. */
  hubStore?: EventStore;
}

export interface LabTarget {
  hub: AgentHub;
  qmp: QmpClient;
  vm: LabVm;
  agentId: string;
  stateDir: string;
  /** Where input-send-event must aim to reach the chosen keyboard (vm.route), and that keyboard's name for reports. */
  route: InputRoute;
  keyboard: LabKeyboard;
  /** Clock offset through qemu-ga (see scenario/qga-clock.ts): a fresh QGA connection per call. */
  clock(): Promise<ClockEstimate>;
  close(): Promise<void>;
}

/** guest-agent/src/main.ts and protocol-schemas/src/index.ts of the checkout this module lives in. */
export function defaultLabAgent(): { agent: string; aliases: Record<string, string> } | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const agent = path.join(dir, 'guest-agent', 'src', 'main.ts');
    const protocol = path.join(dir, 'protocol-schemas', 'src', 'index.ts');
    if (existsSync(agent) && existsSync(protocol)) return { agent, aliases: { '@atp/protocol': protocol } };
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export async function startLabTarget(options: LabTargetOptions = {}): Promise<LabTarget> {
  if (options.agent !== undefined && options.agentBinary !== undefined) {
    throw new AtpError('ATP_SCHEMA_INVALID', 'give either a guest agent to bundle or a single-file agent executable, not both', { details: { field: 'agentBinary' } });
  }
  const found = options.agentBinary !== undefined ? undefined : options.agent === undefined ? defaultLabAgent() : { agent: options.agent, aliases: {} };
  if (found === undefined && options.agentBinary === undefined) {
    throw prerequisiteError([{ what: 'the guest agent sources (guest-agent/src/main.ts)', hint: 'run from an ATP checkout, or pass --lab-agent <path>' }]);
  }
  // The VM's token is bound to it (bootLabOnHub); the hub's own token is never handed out.
  const hub = await AgentHub.create({ auth: { tokens: [randomBytes(16).toString('hex')] }, ...(options.hubStore === undefined ? {} : { store: options.hubStore }) });
  try {
    return await bootLabOnHub(hub, options, { token: randomBytes(16).toString('hex'), found, ownsHub: true });
  } catch (error) {
    await hub.close().catch(() => undefined);
    throw error;
  }
}

/**
 * A lab VM booted into the run's hub (TargetContext.hub), as a run engine
 * target. `bootGate`, shared by a run's lab openers, bounds how many boot at
 * once (TCG boots of many VMs on few cores otherwise all crawl past their
 * ready timeout); the slot is held until the agent's session is up.
 */
export function labOpener(label: string, options: Omit<LabTargetOptions, 'label' | 'onClose' | 'hubStore'> & { bootGate?: Semaphore } = {}): TargetOpener {
  return {
    label,
    async open(context: TargetContext): Promise<Target> {
      const release = await options.bootGate?.acquire();
      try {
        if (context.signal.aborted) throw new AtpError('ATP_RUN_ABORTED', `${label}: the run stopped before the VM booted`);
        return await openLab(label, options, context);
      } finally {
        release?.();
      }
    },
  };
}

async function openLab(label: string, options: Omit<LabTargetOptions, 'label' | 'onClose'>, context: TargetContext): Promise<Target> {
  const found = options.agentBinary !== undefined ? undefined : options.agent === undefined ? defaultLabAgent() : { agent: options.agent, aliases: {} };
  const started = Date.now();
  let closeEarly: (() => Promise<void>) | undefined;
  const onAbort = (): void => void closeEarly?.().catch(() => undefined);
  context.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const t = await bootLabOnHub(context.hub, { ...options, label, log: (line) => context.log(line), onClose: (c) => (closeEarly = c) }, { token: randomBytes(16).toString('hex'), found, ownsHub: false });
    const display = t.vm.state.display;
    return makeTarget({ label, agentId: t.agentId, hub: t.hub, qmp: t.qmp, clock: t.clock, route: t.route, inputDevice: `${t.keyboard} keyboard`, display: async (p) => display?.[p], openMs: Date.now() - started, close: t.close });
  } finally {
    context.signal.removeEventListener('abort', onAbort);
  }
}

async function bootLabOnHub(hub: AgentHub, options: LabTargetOptions, own: { token: string; found: { agent: string; aliases: Record<string, string> } | undefined; ownsHub: boolean }): Promise<LabTarget> {
  const { token, found } = own;
  const label = options.label ?? 'lab';
  const uuid = randomUUID();
  const ownsDir = options.stateDir === undefined;
  const stateDir = options.stateDir ?? (await mkdtemp(path.join(os.tmpdir(), 'atp-verify-')));
  let unbind: (() => void) | undefined;
  let channel: { close(): Promise<void> } | undefined;
  let qmp: QmpClient | undefined;
  let vmStarted = false;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await qmp?.close().catch(() => undefined);
      // labDown first: it also stops a VM whose labUp is still waiting (its probe then sees QEMU gone).
      const down = await labDown({ stateDir }).then(
        () => undefined,
        (error: unknown) => error,
      );
      await channel?.close().catch(() => undefined);
      unbind?.();
      if (own.ownsHub) await hub.close().catch(() => undefined);
      if (ownsDir) await rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
      if (down !== undefined && vmStarted) throw down;
    })());
  options.onClose?.(() => close());
  try {
    // The VM's own token and channel are bound to its label and SMBIOS UUID: nobody else's agent can speak for it.
    unbind = hub.bind({ token, key: label, vmUuid: uuid });
    channel = await hub.connectVirtio({ path: statePaths(stateDir).agent, name: 'org.atp.agent.0', backoff: { initialMs: 50, maxMs: 500 }, bind: { key: label, vmUuid: uuid } });
    options.log?.('booting the lab VM');
    const vm = await labUp({
      stateDir,
      token,
      uuid,
      agentId: label,
      ...(options.memoryMb === undefined ? {} : { memoryMb: options.memoryMb }),
      ...(found === undefined ? {} : { agent: found.agent, agentAliases: found.aliases }),
      ...(options.agentBinary === undefined ? {} : { agentBinary: options.agentBinary }),
      waitForAgent: false,
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      ...(options.accel === undefined ? {} : { accel: options.accel }),
      ...(options.extraDevices === undefined ? {} : { extraDevices: options.extraDevices }),
      ...(options.display === undefined ? {} : { display: options.display }),
      ...(options.inputProfile === undefined ? {} : { inputProfile: options.inputProfile }),
      ...(options.keyboard === undefined ? {} : { keyboard: options.keyboard }),
      ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
      ...(options.killOnExit === undefined ? {} : { killOnExit: options.killOnExit }),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
    vmStarted = true;
    if (closing !== undefined) {
      // Closed while labUp was still building or booting: labDown may have found nothing to stop then.
      closing = undefined;
      throw new AtpError('ATP_LAB_BOOT', 'stopped while the lab VM was starting');
    }
    options.log?.(`lab VM ready in ${(vm.bootMs / 1000).toFixed(1)} s (pid ${vm.state.pid}); waiting for the agent`);
    qmp = await QmpClient.connect({ path: vm.state.sockets.qmp }, { connectTimeoutMs: 10_000 });
    const agentId = await waitForAgentSession(hub, { agentId: label, timeoutMs: options.readyTimeoutMs ?? 120_000 });
    const clock = qgaSocketClock(vm.state.sockets.qga);
    return { hub, qmp, vm, agentId, stateDir, route: vm.route, keyboard: options.keyboard ?? 'ps2', clock, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/**
 * A lab VM that is already running (`atp-host lab up [--count N]`, or a
 * bench's boot phase) as a run target: its state file gives the sockets, the
 * token, the SMBIOS UUID and the agent id; the run's hub binds the token and
 * the agent's channel to `label` and that UUID. `close()` leaves the VM running.
 */
export function runningLabOpener(label: string, state: LabState, options: { timeoutMs?: number } = {}): TargetOpener {
  return {
    label,
    async open(context: TargetContext): Promise<Target> {
      const started = Date.now();
      const hub = context.hub;
      const cleanups: (() => Promise<void>)[] = [];
      const close = async (): Promise<void> => {
        for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
      };
      try {
        const unbind = hub.bind({ token: state.token, key: label, ...(state.uuid === undefined ? {} : { vmUuid: state.uuid }) });
        cleanups.push(() => Promise.resolve(unbind()));
        const channel = await hub.connectVirtio({ path: state.sockets.agent, name: 'org.atp.agent.0', backoff: { initialMs: 50, maxMs: 500 }, bind: { key: label, ...(state.uuid === undefined ? {} : { vmUuid: state.uuid }) } });
        cleanups.push(() => channel.close());
        const qmp = await QmpClient.connect({ path: state.sockets.qmp }, { connectTimeoutMs: 10_000 });
        cleanups.push(() => qmp.close());
        const agentId = await waitForAgentSession(hub, { agentId: label, timeoutMs: options.timeoutMs ?? 120_000, signal: context.signal });
        const clock = qgaSocketClock(state.sockets.qga);
        const keyboard = state.input?.keyboard ?? 'ps2';
        return makeTarget({ label, agentId, hub, qmp, clock, route: keyboardRoute(keyboard), inputDevice: `${keyboard} keyboard`, display: async (p) => state.display?.[p], openMs: Date.now() - started, close });
      } catch (error) {
        await close();
        throw error;
      }
    },
  };
}

/** The guest clock's offset through the qemu-ga socket at `path` (scenario/qga-clock.ts): a fresh QGA connection per call. */
export function qgaSocketClock(path: string): () => Promise<ClockEstimate> {
  return async () => {
    const qga = await QgaClient.connect({ path }, { connectTimeoutMs: 5000, timeoutMs: 5000 });
    try {
      return await qgaClockEstimate(qga);
    } finally {
      qga.close();
    }
  };
}
