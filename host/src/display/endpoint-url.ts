/**
 * Display endpoint URLs. Pure. Hand-written rather than through WHATWG URL:
 * that parser rejects a bad port without saying which part was wrong, and
 * every error here names its field.
 *
 * The convention (one per meaning):
 *   spice://HOST:PORT          SPICE, plain TCP
 *   spices://HOST:PORT         SPICE on a TLS port (QEMU's tls-port); needs a CA;
 *                              `?servername=NAME` when the certificate names
 *                              another host than HOST
 *   vnc://HOST:PORT            VNC, plain TCP (RFC 7869's scheme)
 *   spice+unix:///PATH         SPICE on a unix socket (the lab's, QEMU unix=on)
 *   vnc+unix:///PATH           VNC on a unix socket
 * HOST is a name, an IPv4 address or [IPv6]. The port is required (no
 * guessing between 5900 and display numbers). A password in the URL
 * (`spice://:pw@host`) is refused: it would end up in shell history, ps and
 * logs; it comes from ATP_DISPLAY_PASSWORD or a 0600 file instead
 * (secret-file.ts). Error messages quote the URL only with any user part
 * replaced by `***`.
 */
import { AtpError } from '@atp/protocol';
import type { DisplayAddress, DisplayProtocol } from './endpoint.js';

/** Where a display password comes from by default (secret-file.ts). */
export const DISPLAY_PASSWORD_ENV = 'ATP_DISPLAY_PASSWORD';

export const DISPLAY_URL_SCHEMES = ['spice', 'spices', 'vnc', 'spice+unix', 'vnc+unix'] as const;
export type DisplayUrlScheme = (typeof DISPLAY_URL_SCHEMES)[number];

export interface ParsedDisplayUrl {
  protocol: DisplayProtocol;
  address: DisplayAddress;
  /** spices://: the port is a TLS port. */
  tls: boolean;
  servername?: string;
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;

/** The URL as it may appear in a message: any user part replaced. */
export function redactDisplayUrl(url: string): string {
  return url.replace(/^([^:/?#]*:\/\/)?[^/?#]*@/, '$1***@');
}

export function parseDisplayUrl(url: string): ParsedDisplayUrl {
  const shown = redactDisplayUrl(url);
  const fail = (field: string, why: string): never => {
    throw new AtpError('ATP_DISPLAY_URL', `display URL ${JSON.stringify(shown)}: ${field} ${why}`, { details: { field, url: shown } });
  };
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(url.trim());
  if (!m) return fail('scheme', `must be one of ${DISPLAY_URL_SCHEMES.map((s) => `${s}://`).join(', ')}`);
  const scheme = (m[1] ?? '').toLowerCase();
  if (!(DISPLAY_URL_SCHEMES as readonly string[]).includes(scheme)) return fail('scheme', `${JSON.stringify(scheme)} is not one of ${DISPLAY_URL_SCHEMES.join(', ')}`);
  const rest = m[2] ?? '';
  if (rest.includes('#')) fail('fragment', 'is not allowed');
  const queryAt = rest.indexOf('?');
  const beforeQuery = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : rest.slice(queryAt + 1));
  const protocol: DisplayProtocol = scheme.startsWith('vnc') ? 'vnc' : 'spice';

  if (scheme.endsWith('+unix')) {
    if (!beforeQuery.startsWith('/')) fail('path', `must be an absolute socket path after ${scheme}:// (${scheme}:///run/vm/display.sock)`);
    if ([...query.keys()].length > 0) fail('query', 'is not allowed on a unix-socket URL');
    let socketPath: string;
    try {
      socketPath = decodeURIComponent(beforeQuery);
    } catch {
      return fail('path', 'holds a bad %-escape');
    }
    if (socketPath.includes('\0') || socketPath === '/') fail('path', 'must name a socket file');
    return { protocol, address: { kind: 'unix', path: socketPath }, tls: false };
  }

  const slash = beforeQuery.indexOf('/');
  const authority = slash === -1 ? beforeQuery : beforeQuery.slice(0, slash);
  const pathPart = slash === -1 ? '' : beforeQuery.slice(slash);
  if (pathPart !== '' && pathPart !== '/') fail('path', `is not allowed on a TCP URL (got ${JSON.stringify(pathPart)})`);
  if (authority.includes('@')) fail('password', `must not be in the URL: set ${DISPLAY_PASSWORD_ENV} or give a password file (mode 0600)`);
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return fail('host', 'has an unclosed "["');
    host = authority.slice(1, close);
    if (!IPV6.test(host) || !host.includes(':')) fail('host', `${JSON.stringify(host)} is not an IPv6 address`);
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) fail('host', 'has text after "]"');
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon === -1 ? authority : authority.slice(0, colon);
    portText = colon === -1 ? undefined : authority.slice(colon + 1);
    if (host.includes(':')) fail('host', 'an IPv6 address must be written in brackets: [::1]');
    if (!HOST_NAME.test(host)) fail('host', host === '' ? 'is missing' : `${JSON.stringify(host)} is not a host name or address`);
  }
  if (portText === undefined || portText === '') return fail('port', `is missing: write ${scheme}://${authority.startsWith('[') ? `[${host}]` : host}:PORT`);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) fail('port', `must be a number from 1 to 65535 (got ${JSON.stringify(portText)})`);

  const tls = scheme === 'spices';
  const servername = query.get('servername') ?? undefined;
  const unknown = [...query.keys()].filter((k) => !(tls && k === 'servername'));
  if (unknown.length > 0) fail('query', `${JSON.stringify(unknown[0])} is not understood${tls ? ' (spices:// takes servername)' : ''}`);
  if (servername !== undefined && !HOST_NAME.test(servername)) fail('servername', `${JSON.stringify(servername)} is not a host name`);
  return { protocol, address: { kind: 'tcp', host, port: Number(portText) }, tls, ...(servername === undefined ? {} : { servername }) };
}
