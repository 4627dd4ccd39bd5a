/**
 * Domain XML both ways: `describeDomain` reads what ATP needs from
 * `virsh dumpxml` (our agent's virtio-serial channel, the QEMU guest agent
 * channel, graphics, input devices); `buildDomainXml` writes a small TCG or KVM
 * domain for labs and tests, optionally direct-booting a kernel + initrd. Pure.
 */
import { AtpError } from '@atp/protocol';
import { child, childrenNamed, escapeXml, parseXml, type XmlElement } from './xml-codec.js';

export const ATP_AGENT_CHANNEL = 'org.atp.agent.0';
export const QGA_CHANNEL = 'org.qemu.guest_agent.0';

export interface DomainChannel {
  /** The virtio port name (target name). */
  name: string | undefined;
  /** The channel's host side: 'unix', 'pty', 'spicevmc', … */
  type: string;
  /** Unix socket path on the host for type 'unix'. */
  path: string | undefined;
  /** 'bind' = QEMU listens (connect to it), 'connect' = QEMU connects. */
  mode: string | undefined;
  /** Whether the guest has the port open (running domains only). */
  state: 'connected' | 'disconnected' | undefined;
}

export interface DomainGraphics {
  type: string;
  /** undefined while autoport has not assigned one (domain not running); -1 is normalised to undefined. */
  port: number | undefined;
  tlsPort: number | undefined;
  autoport: boolean;
  /** The listen address, if any. */
  listen: string | undefined;
  /** A unix socket listen, if any. */
  socket: string | undefined;
}

export interface DomainInput {
  type: string;
  bus: string | undefined;
  alias: string | undefined;
}

export interface DomainDescription {
  name: string;
  uuid: string | undefined;
  /** The domain type: 'qemu' (TCG) or 'kvm'. */
  type: string;
  /** The hypervisor id while running (the `id` attribute). */
  id: number | undefined;
  channels: DomainChannel[];
  /** Our agent's channel (org.atp.agent.0), if the domain has one. */
  agentChannel: DomainChannel | undefined;
  /** The QEMU guest agent channel (org.qemu.guest_agent.0), if any. */
  guestAgentChannel: DomainChannel | undefined;
  graphics: DomainGraphics[];
  inputs: DomainInput[];
}

const int = (text: string | undefined): number | undefined => (text !== undefined && /^-?\d+$/.test(text) && Number(text) >= 0 ? Number(text) : undefined);

function channelOf(el: XmlElement): DomainChannel {
  const source = child(el, 'source');
  const target = child(el, 'target');
  const state = target?.attrs.state;
  return {
    name: target?.attrs.name,
    type: el.attrs.type ?? 'unknown',
    path: source?.attrs.path,
    mode: source?.attrs.mode,
    state: state === 'connected' || state === 'disconnected' ? state : undefined,
  };
}

function graphicsOf(el: XmlElement): DomainGraphics {
  const listens = childrenNamed(el, 'listen');
  const address = listens.find((l) => l.attrs.type === 'address')?.attrs.address ?? el.attrs.listen;
  const socket = listens.find((l) => l.attrs.type === 'socket')?.attrs.socket ?? el.attrs.socket;
  return { type: el.attrs.type ?? 'unknown', port: int(el.attrs.port), tlsPort: int(el.attrs.tlsPort), autoport: el.attrs.autoport === 'yes', listen: address, socket };
}

/** Reads a `virsh dumpxml` document. Throws ATP_LIBVIRT_VIRSH if it is not a domain. */
export function describeDomain(xml: string): DomainDescription {
  const root = parseXml(xml);
  const name = child(root, 'name')?.text.trim();
  if (root.name !== 'domain' || !name) throw new AtpError('ATP_LIBVIRT_VIRSH', `dumpxml did not return a <domain> with a <name> (got <${root.name}>)`, { details: { root: root.name } });
  const devices = child(root, 'devices');
  const channels = childrenNamed(devices, 'channel').map(channelOf);
  return {
    name,
    uuid: child(root, 'uuid')?.text.trim(),
    type: root.attrs.type ?? 'unknown',
    id: int(root.attrs.id),
    channels,
    agentChannel: channels.find((c) => c.name === ATP_AGENT_CHANNEL),
    guestAgentChannel: channels.find((c) => c.name === QGA_CHANNEL),
    graphics: childrenNamed(devices, 'graphics').map(graphicsOf),
    inputs: childrenNamed(devices, 'input').map((el) => ({ type: el.attrs.type ?? 'unknown', bus: el.attrs.bus, alias: child(el, 'alias')?.attrs.name })),
  };
}

export interface DomainSpec {
  name: string;
  /** 'qemu' = TCG (default; works without /dev/kvm), 'kvm' = hardware virtualisation. */
  type?: 'qemu' | 'kvm';
  memoryMiB?: number;
  vcpus?: number;
  /** Direct kernel boot (the lab guest); without it SeaBIOS runs and finds nothing to boot. */
  boot?: { kernel: string; initrd?: string; cmdline?: string };
  /** Host unix socket for our agent's channel (QEMU listens on it); omitted = no such channel. */
  agentSocketPath?: string;
  /** Add the org.qemu.guest_agent.0 channel (default true); libvirt picks its socket path. */
  guestAgent?: boolean;
  /** Default: one USB tablet (absolute pointer); PS/2 keyboard and mouse come with the pc machine anyway. */
  inputs?: { type: 'tablet' | 'keyboard' | 'mouse'; bus: 'usb' | 'virtio' | 'ps2' }[];
  /** A VNC or SPICE server (default none). Port 'auto' = libvirt picks one. `passwd`: password auth (read back only with --security-info). */
  graphics?: { type: 'vnc' | 'spice'; listen?: string; port?: number | 'auto'; passwd?: string };
  /** Write the serial console (ttyS0) to this host file. */
  consoleLogPath?: string;
  /** The QEMU binary (default /usr/bin/qemu-system-x86_64). */
  emulator?: string;
}

const NAME_OK = /^[^/\s][^/]*$/;

/** A libvirt domain definition for `virsh define`. Throws ATP_SCHEMA_INVALID for a bad spec. */
export function buildDomainXml(spec: DomainSpec): string {
  const bad = (field: string, why: string): never => {
    throw new AtpError('ATP_SCHEMA_INVALID', `domain spec ${field}: ${why}`, { details: { field } });
  };
  if (!NAME_OK.test(spec.name)) bad('name', 'must be non-empty, without "/" or a leading blank');
  const memory = spec.memoryMiB ?? 64;
  const vcpus = spec.vcpus ?? 1;
  if (!Number.isInteger(memory) || memory < 16) bad('memoryMiB', 'an integer ≥ 16');
  if (!Number.isInteger(vcpus) || vcpus < 1) bad('vcpus', 'an integer ≥ 1');
  const a = escapeXml;
  const os = [`<type arch='x86_64' machine='pc'>hvm</type>`];
  if (spec.boot) {
    os.push(`<kernel>${a(spec.boot.kernel)}</kernel>`);
    if (spec.boot.initrd !== undefined) os.push(`<initrd>${a(spec.boot.initrd)}</initrd>`);
    if (spec.boot.cmdline !== undefined) os.push(`<cmdline>${a(spec.boot.cmdline)}</cmdline>`);
  }
  const devices = [
    `<emulator>${a(spec.emulator ?? '/usr/bin/qemu-system-x86_64')}</emulator>`,
    `<controller type='usb' model='qemu-xhci'/>`,
    `<controller type='virtio-serial' index='0'/>`,
  ];
  if (spec.agentSocketPath !== undefined) {
    devices.push(`<channel type='unix'><source mode='bind' path='${a(spec.agentSocketPath)}'/><target type='virtio' name='${ATP_AGENT_CHANNEL}'/></channel>`);
  }
  if (spec.guestAgent !== false) devices.push(`<channel type='unix'><target type='virtio' name='${QGA_CHANNEL}'/></channel>`);
  for (const input of spec.inputs ?? [{ type: 'tablet', bus: 'usb' }]) devices.push(`<input type='${a(input.type)}' bus='${a(input.bus)}'/>`);
  if (spec.graphics) {
    const g = spec.graphics;
    const port = g.port === undefined || g.port === 'auto' ? `port='-1' autoport='yes'` : `port='${g.port}' autoport='no'`;
    const passwd = g.passwd === undefined ? '' : ` passwd='${a(g.passwd)}'`;
    devices.push(`<graphics type='${g.type}' ${port}${passwd}><listen type='address' address='${a(g.listen ?? '127.0.0.1')}'/></graphics>`);
  }
  devices.push(`<video><model type='vga'/></video>`, `<memballoon model='none'/>`);
  if (spec.consoleLogPath !== undefined) devices.push(`<serial type='file'><source path='${a(spec.consoleLogPath)}'/><target port='0'/></serial>`);
  return [
    `<domain type='${spec.type ?? 'qemu'}'>`,
    `  <name>${a(spec.name)}</name>`,
    `  <memory unit='MiB'>${memory}</memory>`,
    `  <vcpu>${vcpus}</vcpu>`,
    `  <os>${os.join('')}</os>`,
    `  <features><acpi/></features>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
    ...devices.map((d) => `    ${d}`),
    `  </devices>`,
    `</domain>`,
    '',
  ].join('\n');
}
