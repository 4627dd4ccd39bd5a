/**
 * A DisplayEndpoint from a libvirt domain's graphics (as
 * vm/libvirt/graphics-xml.ts reads them; the shape is restated here because
 * display/ may not import vm/). Pure.
 *
 * Where to connect:
 * - `<listen type='socket'>`: that unix socket, when libvirt is on this
 *   machine; on a remote hypervisor the socket is out of reach (forward it
 *   over SSH) and that is an ATP_DISPLAY_NONE saying so.
 * - `<listen type='address'|'network'>`: a wildcard (0.0.0.0, ::) means "all
 *   of the hypervisor's addresses": connect to the host libvirt was reached on
 *   (`hypervisorHost`). A loopback address is used as is on a local
 *   hypervisor and is out of reach on a remote one. No listen address at all
 *   is libvirt's default, 127.0.0.1 (qemu.conf spice_listen / vnc_listen).
 * - SPICE with a CA given and a tlsPort: the TLS port; otherwise the plain
 *   port. A display with only a TLS port, or whose main or inputs channel is
 *   `secure`, needs the CA (libvirt's spice_tls_x509_cert_dir/ca-cert.pem):
 *   ATP_DISPLAY_TLS without it.
 * - No port (shut off, autoport not assigned yet): ATP_DISPLAY_NONE.
 * The password is `passwd`, present only when the XML was read with the
 * security-info flag; without it the endpoint has none.
 */
import { AtpError } from '@atp/protocol';
import type { DisplayAddress, DisplayEndpoint, DisplayProtocol } from './endpoint.js';

export type GraphicsListenLike =
  | { type: 'address'; address: string | undefined }
  | { type: 'network'; address: string | undefined }
  | { type: 'socket'; socket: string | undefined }
  | { type: 'none' };

export interface GraphicsLike {
  type: string;
  port: number | undefined;
  tlsPort: number | undefined;
  listens: readonly GraphicsListenLike[];
  passwd: string | undefined;
  defaultMode?: string | undefined;
  channels?: readonly { name: string; mode: string }[];
}

export interface LibvirtEndpointOptions {
  /** The domain's name, for messages. */
  domain: string;
  protocol: DisplayProtocol;
  /** The host the caller reached libvirt on (127.0.0.1 for qemu:///system here). */
  hypervisorHost: string;
  /** SPICE: the CA that signed the hypervisor's SPICE certificate; with it a tlsPort is preferred. */
  ca?: string;
  /** SPICE TLS: the name the certificate carries, when not the address connected to. */
  servername?: string;
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The SPICE channels ATP uses; if either must be TLS, the plain port is of no use. */
function needsTls(g: GraphicsLike): boolean {
  const modeOf = (name: string): string => g.channels?.find((c) => c.name === name)?.mode ?? g.defaultMode ?? 'any';
  return modeOf('main') === 'secure' || modeOf('inputs') === 'secure';
}

export function endpointFromGraphics(graphics: readonly GraphicsLike[], options: LibvirtEndpointOptions): DisplayEndpoint {
  const { domain, protocol, hypervisorHost } = options;
  const name = protocol === 'spice' ? 'SPICE' : 'VNC';
  const none = (why: string): AtpError => new AtpError('ATP_DISPLAY_NONE', `domain ${domain}: ${why}`, { details: { domain, protocol } });
  const g = graphics.find((x) => x.type === protocol);
  if (g === undefined) throw none(`has no <graphics type='${protocol}'> (graphics: ${graphics.map((x) => x.type).join(', ') || 'none'})`);
  const local = isLoopbackHost(hypervisorHost);
  const password = g.passwd === undefined || g.passwd === '' ? {} : { password: g.passwd };
  const listen = g.listens.find((l) => l.type !== 'none') ?? g.listens[0];
  if (listen?.type === 'none') throw none(`its ${name} display listens nowhere (<listen type='none'>)`);

  if (listen?.type === 'socket') {
    if (listen.socket === undefined) throw none(`its ${name} display's unix socket has no path yet (is the domain running?)`);
    if (!local) throw none(`its ${name} display listens on the unix socket ${listen.socket} on ${hypervisorHost}, out of reach from here (forward it over SSH)`);
    return { protocol, address: { kind: 'unix', path: listen.socket }, ...password };
  }

  const listenAddress = listen?.address ?? '127.0.0.1';
  let host: string;
  if (WILDCARD.has(listenAddress)) host = hypervisorHost;
  else if (isLoopbackHost(listenAddress) && !local) throw none(`its ${name} display listens on ${listenAddress} only, on the remote host ${hypervisorHost}: out of reach from here (listen on an external address or tunnel)`);
  else host = listenAddress;
  const tcp = (port: number): DisplayAddress => ({ kind: 'tcp', host: host.replace(/^\[|\]$/g, ''), port });

  if (protocol === 'spice') {
    if (options.ca !== undefined && g.tlsPort !== undefined) {
      return { protocol, address: tcp(g.tlsPort), tls: { ca: options.ca, ...(options.servername === undefined ? {} : { servername: options.servername }) }, ...password };
    }
    if (g.port === undefined && g.tlsPort === undefined) throw none(`its SPICE display has no port yet (is the domain running?)`);
    if (g.port === undefined || needsTls(g)) {
      throw new AtpError('ATP_DISPLAY_TLS', `domain ${domain}: its SPICE display ${g.port === undefined ? 'has only a TLS port' : 'requires TLS on the main or inputs channel'} (${g.tlsPort ?? 'no TLS port'}); give the CA that signed its certificate (libvirt's spice_tls_x509_cert_dir/ca-cert.pem)`, {
        details: { domain, protocol, tlsPort: g.tlsPort },
      });
    }
    return { protocol, address: tcp(g.port), ...password };
  }
  if (g.port === undefined) throw none(`its VNC display has no port yet (is the domain running?)`);
  return { protocol, address: tcp(g.port), ...password };
}
