/**
 * The QEMU arguments of the lab VM's display servers (SPICE, VNC). Pure;
 * display.ts decides sockets, ports, passwords and TLS, vm-args.ts appends these.
 *
 * Checked against QEMU 7.2 on this machine:
 * - SPICE without TLS listens on a unix socket: `-spice unix=on,addr=PATH`.
 *   With TLS it listens on `addr=127.0.0.1,tls-port=N` only: spice-server binds
 *   every listener it has to `addr`, so `unix=on` plus a tls-port gives no TCP
 *   listener at all (one -spice per VM, so no unix socket beside the TLS port).
 * - Passwords go through `-object secret,id=…,format=raw,file=F` (F is 0600)
 *   and `password-secret=` (both -spice and -vnc have it in 7.2), so the
 *   password is never on QEMU's command line (ps, /proc/PID/cmdline). SPICE
 *   without a password needs `disable-ticketing=on`: otherwise ticketing stays
 *   on with no ticket set and every client is refused.
 * - VNC listens on a unix socket with `key-delay-ms` (display.ts says why the
 *   lab's default is 0 rather than QEMU's 10).
 * - `-vga std`: the display servers show console 0, the pc board's default VGA;
 *   named explicitly so the servers keep a display if the defaults ever go
 *   (-nodefaults). `-nographic` stays: it only means no local window, and the
 *   serial console is the file `-serial file:` names.
 */

export type LabSpiceListen = { kind: 'unix'; path: string } | { kind: 'tls'; host: string; port: number; x509Dir: string };

export interface LabDisplayArgs {
  spice?: { listen: LabSpiceListen; passwordFile?: string };
  vnc?: { socket: string; keyDelayMs: number; passwordFile?: string };
}

export const SPICE_SECRET_ID = 'atp-spice-password';
export const VNC_SECRET_ID = 'atp-vnc-password';

/** QEMU's option parser splits on commas; a doubled comma is a literal one. */
const optValue = (v: string): string => v.replace(/,/g, ',,');

const secret = (id: string, file: string): string[] => ['-object', `secret,id=${id},format=raw,file=${optValue(file)}`];

export function displayQemuArgs(display: LabDisplayArgs | undefined): string[] {
  if (display === undefined || (display.spice === undefined && display.vnc === undefined)) return [];
  const args = ['-vga', 'std'];
  const { spice, vnc } = display;
  if (spice !== undefined) {
    const l = spice.listen;
    const listen = l.kind === 'unix' ? ['unix=on', `addr=${optValue(l.path)}`] : [`addr=${l.host}`, `tls-port=${l.port}`, `x509-dir=${optValue(l.x509Dir)}`];
    if (spice.passwordFile !== undefined) args.push(...secret(SPICE_SECRET_ID, spice.passwordFile));
    args.push('-spice', [...listen, spice.passwordFile === undefined ? 'disable-ticketing=on' : `password-secret=${SPICE_SECRET_ID}`].join(','));
  }
  if (vnc !== undefined) {
    if (vnc.passwordFile !== undefined) args.push(...secret(VNC_SECRET_ID, vnc.passwordFile));
    const options = [`unix:${optValue(vnc.socket)}`, `key-delay-ms=${vnc.keyDelayMs}`];
    if (vnc.passwordFile !== undefined) options.push(`password-secret=${VNC_SECRET_ID}`);
    args.push('-vnc', options.join(','));
  }
  return args;
}
