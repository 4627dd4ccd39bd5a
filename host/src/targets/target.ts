/**
 * What a run verifies against: a `Target` is one VM made ready for suites (its
 * agent has a session in the run's hub, input can be sent, the guest can be
 * asked whether it runs), and a `TargetOpener` is the recipe for opening it,
 * so the run engine decides when (and how many at once) VMs are opened.
 *
 * Providers: lab-target.ts (a lab VM booted for the run), libvirt-target.ts (a
 * running libvirt domain, local or over SSH), qmp-target.ts (a QMP socket and
 * an agent endpoint). All of them attach the VM's agent to the hub the run
 * owns and bind the session to the VM (its SMBIOS UUID, its channel or its own
 * token), so two clones with one hostname stay apart.
 */
import type { ClockEstimate } from '@atp/protocol';
import type { DisplayEndpoint, DisplayProtocol } from '../display/endpoint.js';
import type { AgentHub } from '../hub/index.js';
import { QmpInjector, type Injector, type ScreenSize } from '../inject/index.js';
import type { InputRoute } from '../lab/index.js';
import { ensureGuestRunning } from '../scenario/index.js';
import { queryStatus, type QmpExecutor } from '../vm/qmp/index.js';
import type { HostConnections } from './domains.js';

/** Is the guest running, and make it run (QEMU drops input while paused). */
export interface GuestControl {
  status(): Promise<{ running: boolean; status: string }>;
  /** Continues a paused VM; ATP_QMP_COMMAND when it cannot run. Resolves with the status before. */
  ensureRunning(): Promise<string>;
}

export interface Target extends AsyncDisposable {
  /** The name in reports and events: "lab-03", "web1", "web1@hv2". */
  readonly label: string;
  /** The hub key of the VM's agent session (the label when the session is bound to the VM). */
  readonly agentId: string;
  readonly hub: AgentHub;
  /** QMP of the VM: the injector's transport and the guest's run state. */
  readonly qmp: QmpExecutor;
  readonly guest: GuestControl;
  /** A better clock-offset source than the hub's pings (qemu-ga guest-get-time), when there is one. */
  readonly clock?: () => Promise<ClockEstimate>;
  /** The guest input device input is routed to, when the target chose one (the lab's keyboard). */
  readonly inputDevice?: string;
  /** How long opening took (boot + agent session for a lab VM), in ms. */
  readonly openMs: number;
  /** A fresh QMP injector for one suite's screen (SPICE and VNC: injectors.ts openInjector). */
  injector(screen: ScreenSize): Injector;
  /** The VM's SPICE or VNC server as a thin client reaches it, when the target knows (undefined: it has none). */
  display?(protocol: DisplayProtocol): Promise<DisplayEndpoint | undefined>;
  /** Takes the target down (a lab VM stops; a libvirt domain keeps running). Idempotent. */
  close(): Promise<void>;
}

export interface TargetContext {
  /** The run's hub: every target's agent reports here. */
  hub: AgentHub;
  signal: AbortSignal;
  log: (line: string) => void;
  /** SSH and virsh connections shared by the run's targets on one host. */
  connections?: HostConnections;
}

export interface TargetOpener {
  readonly label: string;
  open(context: TargetContext): Promise<Target>;
}

export const INPUT_CALL_TIMEOUT_MS = 10_000;

export function guestControl(qmp: QmpExecutor): GuestControl {
  return {
    status: () => queryStatus(qmp, { timeoutMs: 10_000 }),
    ensureRunning: () => ensureGuestRunning(qmp),
  };
}

/** The common tail of every provider: a Target over a QMP executor, routed as given. */
export function makeTarget(parts: {
  label: string;
  agentId: string;
  hub: AgentHub;
  qmp: QmpExecutor;
  clock?: () => Promise<ClockEstimate>;
  route?: InputRoute;
  inputDevice?: string;
  display?: (protocol: DisplayProtocol) => Promise<DisplayEndpoint | undefined>;
  openMs: number;
  close: () => Promise<void>;
}): Target {
  const { close } = parts;
  return {
    label: parts.label,
    agentId: parts.agentId,
    hub: parts.hub,
    qmp: parts.qmp,
    guest: guestControl(parts.qmp),
    ...(parts.clock === undefined ? {} : { clock: parts.clock }),
    ...(parts.inputDevice === undefined ? {} : { inputDevice: parts.inputDevice }),
    ...(parts.display === undefined ? {} : { display: parts.display }),
    openMs: parts.openMs,
    // 10 s per input call: a VM that takes longer (paused, SIGSTOPped, its host saturated) is reported, not waited for.
    injector: (screen) => new QmpInjector({ executor: parts.qmp, screen, timeoutMs: INPUT_CALL_TIMEOUT_MS, ...parts.route }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
