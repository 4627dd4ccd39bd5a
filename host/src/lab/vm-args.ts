/**
 * The qemu-system-x86_64 command line of the lab VM. Pure.
 * - `-nic none`: otherwise iPXE delays the boot; `-no-reboot`: a guest reboot
 *   (an injected Ctrl+Alt+Del that slipped through, a panic) ends QEMU.
 * - Input devices: the pc board's PS/2 keyboard and mouse (i8042), a USB
 *   tablet on xHCI for absolute moves, the input profile's devices
 *   (input-devices.ts) and any `extraDevices` (e.g. 'virtio-keyboard-pci').
 * - The agent token reaches the guest as a fw_cfg file read from `tokenFile`
 *   (0600 on the host): neither QEMU's nor the guest's command line carries it.
 * - `rootfstype=ramfs`: the default initramfs tmpfs is capped at half the RAM,
 *   too small for an uncompressed image with node at -m 384 ("Initramfs
 *   unpacking failed: write error").
 * - virtio-serial: org.atp.agent.0 (the ATP agent) and org.qemu.guest_agent.0
 *   (qemu-ga), each a unix socket server QEMU listens on without waiting.
 * - Display servers (SPICE, VNC) when asked for: display-args.ts.
 * - `-accel tcg,tb-size=64` (DEFAULT_TCG_TB_SIZE_MB): QEMU 7.2's TCG
 *   translation cache defaults to 1 GiB, and what the guest fills stays
 *   resident: 148 MiB after a lab boot with the agent, QEMU's RSS 572 MiB
 *   idle. Capped at 64 MiB (flushed when full) the idle RSS is 478 MiB, and
 *   the boot and a node workload in the guest take as long as with 1 GiB
 *   (within the noise of a loaded 2-core host). 32 MiB (RSS 438) made node in
 *   the guest 1.5–3× slower (the cache thrashes); 16 MiB doubled the boot.
 *   The rest of the RSS is guest RAM (~300 MiB touched by a boot with node,
 *   for any -m from 320 up) and QEMU itself (~40 MiB), plus the initrd file
 *   QEMU maps (53 MiB, page cache shared by all lab VMs).
 */
import { AGENT_PORT_NAME, QGA_PORT_NAME, TOKEN_FW_CFG_NAME } from './image/init-script.js';
import { profileDevices, type LabInputProfile } from './input-devices.js';
import { displayQemuArgs, type LabDisplayArgs } from './display-args.js';
import type { statePaths } from './paths.js';

export type LabAccel = 'tcg' | 'kvm';

export interface QemuArgsOptions {
  kernel: string;
  initrd: string;
  paths: ReturnType<typeof statePaths>;
  /** A file holding the agent token (the guest reads it through fw_cfg). */
  tokenFile: string;
  agentId: string;
  /** The SMBIOS system UUID (`-uuid`): what the agent reports as the VM's identity; clones differ here, not in hostname. */
  uuid: string;
  accel: LabAccel;
  /** Guest RAM in MiB: 288 is the least that boots with node in the initramfs (256 panics while unpacking); 320 leaves the agent ~80 MiB. */
  memoryMb: number;
  /** TCG translation cache in MiB (`-accel tcg,tb-size=N`; ignored with kvm). Default DEFAULT_TCG_TB_SIZE_MB. */
  tbSizeMb?: number;
  /** Default 'minimal'. */
  inputProfile?: LabInputProfile;
  extraDevices?: readonly string[];
  /** SPICE and VNC servers (display-args.ts); default none. */
  display?: LabDisplayArgs;
}

/** The TCG translation cache of a lab VM in MiB (figures in the header). */
export const DEFAULT_TCG_TB_SIZE_MB = 64;

const TOKEN = /^[A-Za-z0-9._-]{1,256}$/;
const AGENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function isValidLabToken(token: string): boolean {
  return TOKEN.test(token);
}
export function isValidAgentId(id: string): boolean {
  return AGENT_ID.test(id);
}

/** QEMU's option parser splits on commas; a doubled comma is a literal one. */
const optValue = (v: string): string => v.replace(/,/g, ',,');

export function buildQemuArgs(o: QemuArgsOptions): string[] {
  const append = ['console=ttyS0', 'quiet', 'panic=-1', 'rootfstype=ramfs', `atp.agent=${o.agentId}`].join(' ');
  const accel = o.accel === 'tcg' ? `tcg,tb-size=${o.tbSizeMb ?? DEFAULT_TCG_TB_SIZE_MB}` : o.accel;
  const args = ['-name', 'atp-lab', '-uuid', o.uuid, '-accel', accel, '-machine', 'pc', '-m', String(o.memoryMb), '-smp', '1'];
  args.push('-nic', 'none', '-nographic', '-no-reboot', '-monitor', 'none');
  args.push('-kernel', o.kernel, '-initrd', o.initrd, '-append', append);
  args.push('-serial', `file:${o.paths.console}`);
  args.push('-fw_cfg', `name=${TOKEN_FW_CFG_NAME},file=${optValue(o.tokenFile)}`);
  args.push('-qmp', `unix:${optValue(o.paths.qmp)},server=on,wait=off`);
  args.push('-device', 'qemu-xhci,id=xhci0', '-device', 'usb-tablet,id=tablet0,bus=xhci0.0');
  for (const device of [...profileDevices(o.inputProfile ?? 'minimal'), ...(o.extraDevices ?? [])]) args.push('-device', device);
  args.push('-device', 'virtio-serial-pci,id=vser0');
  args.push('-chardev', `socket,id=agent0,path=${optValue(o.paths.agent)},server=on,wait=off`);
  args.push('-device', `virtserialport,bus=vser0.0,chardev=agent0,name=${AGENT_PORT_NAME}`);
  args.push('-chardev', `socket,id=qga0,path=${optValue(o.paths.qga)},server=on,wait=off`);
  args.push('-device', `virtserialport,bus=vser0.0,chardev=qga0,name=${QGA_PORT_NAME}`);
  args.push(...displayQemuArgs(o.display));
  return args;
}
