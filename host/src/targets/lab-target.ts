/**
 * A verify target on the lab VM: the hub connects to the agent's chardev socket
 * BEFORE the VM boots (QEMU's chardev takes one client at a time, so the lab's
 * own wait-for-hello is skipped: the hub's session is the proof the agent is
 * up), then the lab VM boots with the agent and our token, QMP connects, and the
 * agent's session is awaited. `close()` always takes everything down, the VM
 * first; it is safe to call twice and from a signal handler.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AtpError, type ClockEstimate } from '@atp/protocol';
import { AgentHub } from '../hub/index.js';
import { labDown, labUp, statePaths, type InputRoute, type LabInputProfile, type LabKeyboard, type LabUpOptions, type LabVm } from '../lab/index.js';
import { prerequisiteError } from '../lab/prereqs.js';
import { qgaClockEstimate, waitForAgentSession } from '../scenario/index.js';
import { QgaClient } from '../vm/qga/index.js';
import { QmpClient } from '../vm/qmp/index.js';

export interface LabTargetOptions {
  /** State dir of the VM (default: a fresh temp dir, removed on close). */
  stateDir?: string;
  cacheDir?: string;
  /** Guest agent entry or dist dir (default: guest-agent/src/main.ts of this checkout). */
  agent?: string;
  /** A prebuilt single-file agent (linux-x64 Node SEA) run instead of node + bundle; exclusive with `agent`. */
  agentBinary?: string;
  accel?: LabUpOptions['accel'];
  inputProfile?: LabInputProfile;
  keyboard?: LabKeyboard;
  extraDevices?: readonly string[];
  readyTimeoutMs?: number;
  /** SIGKILL QEMU if this process exits without closing (tests). */
  killOnExit?: boolean;
  log?: (line: string) => void;
  /** Called at once with the target's close(), so a signal handler can stop a VM that is still booting. */
  onClose?: (close: () => Promise<void>) => void;
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
  const ownsDir = options.stateDir === undefined;
  const stateDir = options.stateDir ?? (await mkdtemp(path.join(os.tmpdir(), 'atp-verify-')));
  const token = randomBytes(16).toString('hex');
  let hub: AgentHub | undefined;
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
      await hub?.close().catch(() => undefined);
      if (ownsDir) await rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
      if (down !== undefined && vmStarted) throw down;
    })());
  options.onClose?.(() => close());
  try {
    hub = await AgentHub.create({ auth: { tokens: [token] } });
    await hub.connectVirtio({ path: statePaths(stateDir).agent, name: 'org.atp.agent.0', backoff: { initialMs: 50, maxMs: 500 } });
    options.log?.('booting the lab VM');
    const vm = await labUp({
      stateDir,
      token,
      ...(found === undefined ? {} : { agent: found.agent, agentAliases: found.aliases }),
      ...(options.agentBinary === undefined ? {} : { agentBinary: options.agentBinary }),
      waitForAgent: false,
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      ...(options.accel === undefined ? {} : { accel: options.accel }),
      ...(options.extraDevices === undefined ? {} : { extraDevices: options.extraDevices }),
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
    const agentId = await waitForAgentSession(hub, { agentId: vm.state.agentId, timeoutMs: options.readyTimeoutMs ?? 120_000 });
    const qgaPath = vm.state.sockets.qga;
    const clock = async (): Promise<ClockEstimate> => {
      const qga = await QgaClient.connect({ path: qgaPath }, { connectTimeoutMs: 5000, timeoutMs: 5000 });
      try {
        return await qgaClockEstimate(qga);
      } finally {
        qga.close();
      }
    };
    return { hub, qmp, vm, agentId, stateDir, route: vm.route, keyboard: options.keyboard ?? 'ps2', clock, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
