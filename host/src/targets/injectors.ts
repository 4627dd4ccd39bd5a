/**
 * Which injector a suite runs with on a target: QMP (the target's own
 * QmpInjector), or SPICE / VNC as a thin client would, connected to the VM's
 * display server. The endpoint is the one the user gave (`--display URL`) or
 * the one the target knows (the lab VM's servers, a libvirt domain's
 * graphics, the VDI platform's connection info). A target without that display
 * server is ATP_INJECT_UNKNOWN saying what to pass; a wrong password or an
 * unreachable server is the client's own typed error (ATP_SPICE_AUTH,
 * ATP_VNC_CONNECT, ...), which the run reports as that VM's infrastructure error.
 */
import { AtpError, type InjectorKind, type MouseMode } from '@atp/protocol';
import { describeEndpoint, type DisplayEndpoint, type DisplayProtocol } from '../display/endpoint.js';
import type { Injector, ScreenSize } from '../inject/actions.js';
import { openSpiceInjector } from '../inject/spice-injector.js';
import { openVncInjector } from '../inject/vnc-injector.js';

export interface InjectorChoice {
  kind: InjectorKind;
  /** SPICE: the mouse mode to ask for (default client). */
  mouseMode?: MouseMode;
  /** An endpoint the user gave (`--display URL`): wins over the target's own. */
  endpoint?: DisplayEndpoint;
}

/** What a target offers for injection. */
export interface InjectorSource {
  readonly label: string;
  /** The QMP injector. */
  injector(screen: ScreenSize): Injector;
  /** The VM's SPICE or VNC server, when the target knows it. */
  display?(protocol: DisplayProtocol): Promise<DisplayEndpoint | undefined>;
}

export async function openInjector(target: InjectorSource, screen: ScreenSize, choice: InjectorChoice): Promise<Injector> {
  if (choice.kind === 'qmp') return target.injector(screen);
  const protocol = choice.kind;
  const endpoint = choice.endpoint ?? (await target.display?.(protocol));
  if (endpoint === undefined) {
    throw new AtpError('ATP_INJECT_UNKNOWN', `${target.label}: no ${protocol.toUpperCase()} server is known for this VM; pass --display ${protocol}://HOST:PORT (password in $ATP_DISPLAY_PASSWORD or --display-password-file)`, {
      details: { vm: target.label, injector: protocol },
    });
  }
  if (endpoint.protocol !== protocol) {
    throw new AtpError('ATP_INJECT_UNKNOWN', `${target.label}: the ${protocol} injector needs a ${protocol} endpoint, got ${describeEndpoint(endpoint)}`, { details: { vm: target.label, injector: protocol } });
  }
  if (protocol === 'spice') return openSpiceInjector(endpoint, screen, choice.mouseMode === undefined ? {} : { mouseMode: choice.mouseMode });
  return openVncInjector(endpoint, screen, {});
}
