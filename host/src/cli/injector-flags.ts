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
 * The checks themselves live in targets/injector-choice.ts (the HTTP API's
 * input bodies take the same fields).
 */
import type { Command } from 'commander';
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

/** The choice the flags make (kind absent: each suite's own), the endpoint read (password, CA); targets/injector-choice.ts. */
export async function parseInjectorFlags(flags: InjectorFlags): Promise<Partial<InjectorChoice>> {
  // Loaded here, not at the top: command definitions import this file for addInjectorOptions.
  const { INJECTOR_FLAG_NAMES, resolveInjectorChoice } = await import('../targets/injector-choice.js');
  return resolveInjectorChoice(flags, INJECTOR_FLAG_NAMES);
}
