/**
 * A domain's display servers from its XML (`virsh dumpxml`), everything a
 * thin client needs: `<graphics type='spice'|'vnc' port= tlsPort= autoport=
 * listen= socket= passwd= passwdValidTo= defaultMode=>`, its `<listen
 * type='address'|'network'|'socket'|'none'>` children and SPICE's per-channel
 * `<channel name= mode='secure'|'insecure'|'any'>`. Pure.
 *
 * What libvirt prints (libvirt 9.0, checked on this machine):
 * - `passwd` only with `--security-info` (VIR_DOMAIN_XML_SECURE); without it
 *   the attribute is simply absent, so "no password" and "hidden" look alike
 *   (LibvirtClient.domainGraphics records which reading it did).
 * - An autoport display of a running domain carries the chosen port; a shut
 *   off one `port='-1'` (read as undefined). SPICE's tlsPort exists only when
 *   spice_tls is on in qemu.conf.
 * - A running domain repeats the first listen address in the legacy `listen`
 *   attribute; a socket listen of a running SPICE display names the socket
 *   libvirt made (`<listen type='socket' socket='/var/lib/libvirt/qemu/…'/>`).
 */
import { AtpError } from '@atp/protocol';
import { child, childrenNamed, parseXml, type XmlElement } from './xml-codec.js';

export type GraphicsListen =
  | { type: 'address'; address: string | undefined }
  | { type: 'network'; network: string | undefined; address: string | undefined }
  | { type: 'socket'; socket: string | undefined }
  | { type: 'none' };

export interface LibvirtGraphics {
  /** 'spice', 'vnc', 'sdl', 'rdp', 'egl-headless', 'dbus', … */
  type: string;
  /** The TCP port; undefined when there is none yet (-1: shut off or autoport pending) or the server listens on a socket. */
  port: number | undefined;
  /** SPICE's TLS port, when it has one. */
  tlsPort: number | undefined;
  autoport: boolean;
  /** The <listen> children in order; a legacy `listen`/`socket` attribute alone becomes one entry. */
  listens: GraphicsListen[];
  /** The password, present only in XML read with the security-info flag. */
  passwd: string | undefined;
  /** When the password stops working (libvirt's text, UTC unless it says otherwise). */
  passwdValidTo: string | undefined;
  /** SPICE: which channels must use TLS ('secure'), must not ('insecure'), or either ('any', default). */
  defaultMode: string | undefined;
  channels: { name: string; mode: string }[];
}

export interface DomainGraphicsInfo {
  domain: string;
  graphics: LibvirtGraphics[];
}

const port = (text: string | undefined): number | undefined => (text !== undefined && /^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535 ? Number(text) : undefined);

function listenOf(el: XmlElement): GraphicsListen {
  const a = el.attrs;
  switch (a.type) {
    case 'network':
      return { type: 'network', network: a.network, address: a.address };
    case 'socket':
      return { type: 'socket', socket: a.socket };
    case 'none':
      return { type: 'none' };
    default:
      return { type: 'address', address: a.address };
  }
}

function graphicsOf(el: XmlElement): LibvirtGraphics {
  const a = el.attrs;
  let listens = childrenNamed(el, 'listen').map(listenOf);
  if (listens.length === 0 && a.socket !== undefined) listens = [{ type: 'socket', socket: a.socket }];
  else if (listens.length === 0 && a.listen !== undefined) listens = [{ type: 'address', address: a.listen }];
  return {
    type: a.type ?? 'unknown',
    port: port(a.port),
    tlsPort: port(a.tlsPort),
    autoport: a.autoport === 'yes',
    listens,
    passwd: a.passwd,
    passwdValidTo: a.passwdValidTo,
    defaultMode: a.defaultMode,
    channels: childrenNamed(el, 'channel').flatMap((c) => (c.attrs.name === undefined ? [] : [{ name: c.attrs.name, mode: c.attrs.mode ?? 'any' }])),
  };
}

/** Reads a domain's graphics. ATP_LIBVIRT_VIRSH when the text is not a domain document. */
export function parseDomainGraphics(xml: string): DomainGraphicsInfo {
  const root = parseXml(xml);
  const domain = child(root, 'name')?.text.trim();
  if (root.name !== 'domain' || !domain) throw new AtpError('ATP_LIBVIRT_VIRSH', `dumpxml did not return a <domain> with a <name> (got <${root.name}>)`, { details: { root: root.name } });
  return { domain, graphics: childrenNamed(child(root, 'devices'), 'graphics').map(graphicsOf) };
}
