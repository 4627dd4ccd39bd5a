/**
 * A verify target on a libvirt domain (`--vm NAME[@HOST] --token T`): the
 * domain must exist and run; its XML names our agent's virtio-serial channel
 * (org.atp.agent.0, a unix socket QEMU listens on), which the hub connects to
 * (directly here, through an SSH unix-socket forward for a remote host, opened
 * again on every reconnect); input
 * goes through `qemu-monitor-command` (never the domain's own QMP socket,
 * libvirt holds it) and the clock offset through `qemu-agent-command`
 * guest-get-time. A libvirtd restart mid-run costs one retried call (reported
 * by runSuite as an 'error' finding), not the run. `close()` leaves the domain running; it is idempotent.
 *
 * `libvirtOpener` opens the domain for the run engine on the run's hub and the
 * run's shared host connections; the agent's session is bound to the domain's
 * channel and UUID, so clones that share a hostname and a token stay apart.
 */
import { AtpError, type ClockEstimate } from '@atp/protocol';
import { AgentHub } from '../hub/index.js';
import type { ConfigLocation } from '../config/paths.js';
import { qgaClockEstimate, waitForAgentSession } from '../scenario/index.js';
import { reconnectingQmpExecutor } from '../vm/libvirt/executors.js';
import type { QmpExecutor } from '../vm/qmp/index.js';
import type { DisplayEndpoint, DisplayProtocol } from '../display/endpoint.js';
import { openDomain, type HostConnections } from './domains.js';
import { libvirtDisplay } from './libvirt-display.js';
import { makeTarget, type Target, type TargetContext, type TargetOpener } from './target.js';

export interface LibvirtTargetOptions {
  /** NAME[@HOST]. */
  vm: string;
  /** The token the domain's agent presents. */
  token: string;
  agentId?: string;
  location?: ConfigLocation;
  /** How long to wait for the agent's session (default 120 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  onClose?: (close: () => Promise<void>) => void;
  /** The run's hub (the session is bound to the domain); default a hub of its own, closed with the target. */
  hub?: AgentHub;
  /** The run's shared host connections; default a connection of its own. */
  connections?: HostConnections;
}

export interface LibvirtTarget {
  hub: AgentHub;
  qmp: QmpExecutor;
  agentId: string;
  /** "NAME" or "NAME@HOST". */
  vm: string;
  domain: string;
  /** Clock offset through libvirt's qemu-agent-command; rejects when the domain has no guest agent. */
  clock(): Promise<ClockEstimate>;
  /** The domain's SPICE or VNC server (libvirt-display.ts). */
  display(protocol: DisplayProtocol): Promise<DisplayEndpoint | undefined>;
  close(): Promise<void>;
}

/** A running libvirt domain (NAME[@HOST]) as a run engine target, observed through the run's hub. */
export function libvirtOpener(spec: string, options: { token: string; location?: ConfigLocation; timeoutMs?: number }): TargetOpener {
  return {
    label: spec,
    async open(context: TargetContext): Promise<Target> {
      const started = Date.now();
      const t = await startLibvirtTarget({
        vm: spec,
        token: options.token,
        hub: context.hub,
        ...(options.location === undefined ? {} : { location: options.location }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        signal: context.signal,
        log: (line) => context.log(line),
        ...(context.connections === undefined ? {} : { connections: context.connections }),
      });
      return makeTarget({ label: t.vm, agentId: t.agentId, hub: t.hub, qmp: t.qmp, clock: t.clock, display: t.display, openMs: Date.now() - started, close: t.close });
    },
  };
}

export async function startLibvirtTarget(options: LibvirtTargetOptions): Promise<LibvirtTarget> {
  const opened = await openDomain(options.vm, options.location ?? {}, options.connections === undefined ? {} : { connections: options.connections });
  const cleanups: (() => Promise<void>)[] = [() => opened.close()];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
    })());
  options.onClose?.(close);
  try {
    const channel = opened.description.agentChannel;
    if (channel?.type !== 'unix' || channel.path === undefined) {
      throw new AtpError('ATP_LIBVIRT_NO_AGENT_CHANNEL', `domain '${opened.domain}' has no unix-socket virtio-serial channel named org.atp.agent.0 for the agent (see buildDomainXml's agentSocketPath)`, {
        details: { domain: opened.domain, host: opened.host.name, channel: channel?.type },
      });
    }
    if (channel.mode !== undefined && channel.mode !== 'bind') {
      throw new AtpError('ATP_LIBVIRT_NO_AGENT_CHANNEL', `domain '${opened.domain}': the agent channel has mode '${channel.mode}'; the hub needs QEMU to listen (mode='bind')`, { details: { domain: opened.domain, mode: channel.mode } });
    }
    const shared = options.hub;
    const hub = shared ?? (await AgentHub.create({ auth: { tokens: [options.token] } }));
    if (shared === undefined) cleanups.push(() => hub.close());
    const target = opened.ssh === undefined ? { path: channel.path } : opened.ssh.unixTarget(opened.host.name, channel.path);
    // On a shared hub the session is keyed by the domain's label and must come from this domain (its UUID, when the agent reports one).
    const bind = shared === undefined ? undefined : { key: opened.label, ...(opened.description.uuid === undefined ? {} : { vmUuid: opened.description.uuid.toLowerCase() }) };
    const virtio = await hub.connectVirtio({ ...target, name: 'org.atp.agent.0', backoff: { initialMs: 50, maxMs: 500 }, ...(bind === undefined ? {} : { bind }) });
    cleanups.push(() => virtio.close());
    options.log?.(`waiting for the agent of ${opened.label} on ${virtio.describe()}`);
    const agentId = await waitForAgentSession(hub, {
      ...(bind !== undefined ? { agentId: bind.key } : options.agentId === undefined ? {} : { agentId: options.agentId }),
      timeoutMs: options.timeoutMs ?? 120_000,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const qga = opened.client.qgaExecutor(opened.domain);
    return {
      hub,
      // Rides out a libvirtd restart (retries the call once, see reconnectingQmpExecutor); runSuite reports it.
      qmp: reconnectingQmpExecutor(opened.client.qmpExecutor(opened.domain), { probe: () => opened.client.lookup(opened.domain) }),
      agentId,
      vm: opened.label,
      domain: opened.domain,
      clock: () => qgaClockEstimate(qga),
      display: libvirtDisplay(opened),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
