/**
 * The injector flags shared by `verify`, `keyboard` and `mouse`:
 *   --injector qmp|spice|vnc       how input enters the VM (default: the suite's
 *                                  target.injector; keyboard/mouse: qmp)
 *   --mouse-mode client|server     SPICE's mouse mode (default client)
 *   --display URL                  the display server to use instead of the
 *                                  target's own (spice://, spices://, vnc://,
 *                                  spice+unix://, vnc+unix://; display/endpoint-url.ts)
 *   --display-password-file FILE   its password (0600), else $ATP_DISPLAY_PASSWORD
 *   --display-ca FILE              the CA for spices://
 * A --display URL without --injector picks the URL's protocol. Mistakes are
 * usage errors (exit 2) naming the flag; the password never appears in one.
 */
import type { Command } from 'commander';
import { AtpError, InjectorKindSchema, MouseModeSchema, type InjectorKind } from '@atp/protocol';
import { endpointFromUrl } from '../display/endpoint-sources.js';
import type { InjectorChoice } from '../targets/index.js';

export interface InjectorFlags {
  injector?: string;
  mouseMode?: string;
  display?: string;
  displayPasswordFile?: string;
  displayCa?: string;
}

export function addInjectorOptions(command: Command): Command {
  return command
    .option('--injector <kind>', "how input enters the VM: qmp (QEMU's monitor), spice or vnc (as a thin client, through QEMU's display server)")
    .option('--mouse-mode <mode>', 'with --injector spice: client (absolute positions, default) or server (relative motion)')
    .option('--display <url>', "the VM's display server instead of the one the target names: spice://HOST:PORT, spices://HOST:PORT (TLS, with --display-ca), vnc://HOST:PORT, spice+unix:///PATH, vnc+unix:///PATH")
    .option('--display-password-file <file>', 'the display password, in a 0600 file (default: $ATP_DISPLAY_PASSWORD, else none)')
    .option('--display-ca <file>', "with spices://: the CA certificate that signed the server's certificate");
}

const usage = (flag: string, message: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', `${flag}: ${message}`, { details: { field: flag } });

/** The choice the flags make (kind absent: each suite's own), the endpoint read (password, CA). */
export async function parseInjectorFlags(flags: InjectorFlags): Promise<Partial<InjectorChoice>> {
  let kind: InjectorKind | undefined;
  if (flags.injector !== undefined) {
    const parsed = InjectorKindSchema.safeParse(flags.injector);
    if (!parsed.success) throw usage('--injector', `expected qmp, spice or vnc, got ${JSON.stringify(flags.injector)}`);
    kind = parsed.data;
  }
  let mouseMode: InjectorChoice['mouseMode'];
  if (flags.mouseMode !== undefined) {
    const parsed = MouseModeSchema.safeParse(flags.mouseMode);
    if (!parsed.success) throw usage('--mouse-mode', `expected client or server, got ${JSON.stringify(flags.mouseMode)}`);
    if (kind !== undefined && kind !== 'spice') throw usage('--mouse-mode', 'is a SPICE setting: it needs --injector spice');
    mouseMode = parsed.data;
  }
  if (flags.display === undefined) {
    if (flags.displayPasswordFile !== undefined || flags.displayCa !== undefined) throw usage(flags.displayCa !== undefined ? '--display-ca' : '--display-password-file', 'goes with --display URL');
    return { ...(kind === undefined ? {} : { kind }), ...(mouseMode === undefined ? {} : { mouseMode }) };
  }
  const endpoint = await endpointFromUrl(flags.display, {
    ...(flags.displayPasswordFile === undefined ? {} : { passwordFile: flags.displayPasswordFile }),
    ...(flags.displayCa === undefined ? {} : { caFile: flags.displayCa }),
  });
  if (kind === 'qmp') throw usage('--display', 'names a SPICE or VNC server: it needs --injector spice or vnc (or no --injector)');
  if (kind !== undefined && kind !== endpoint.protocol) throw usage('--display', `is a ${endpoint.protocol} URL but --injector is ${kind}`);
  return { kind: endpoint.protocol, endpoint, ...(mouseMode === undefined ? {} : { mouseMode }) };
}
