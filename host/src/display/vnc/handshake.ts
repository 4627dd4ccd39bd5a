/**
 * The RFB 3.8 handshake as a sequence of awaited reads and writes over an
 * Inbox: version, security type choice, VNC authentication, SecurityResult,
 * shared ClientInit, ServerInit. No sockets here: the client passes the bytes
 * in (Inbox) and gets its writes through `write`, so tests can drive it too.
 *
 * Security choice: with a password, VNC authentication (2) when offered, else
 * None (1); without one, None, and a server that offers only VNC
 * authentication is ATP_VNC_AUTH "wants a password and none was given". A
 * refused SecurityResult is ATP_VNC_AUTH quoting the server's reason. The
 * password never appears in an error.
 */
import { AtpError } from '@atp/protocol';
import { describeEndpoint, type DisplayEndpoint } from '../endpoint.js';
import {
  decodeChallenge,
  decodeProtocolVersion,
  decodeSecurityResult,
  decodeSecurityTypes,
  decodeServerInit,
  encodeClientInit,
  encodeProtocolVersion,
  encodeSecurityChoice,
  SECURITY_NONE,
  SECURITY_VNC_AUTH,
  vncAuthResponse,
  type ProtocolVersion,
  type ServerInit,
} from './handshake-codec.js';
import type { Inbox } from './inbox.js';
import { protocolError } from './wire-codec.js';

export interface HandshakeResult {
  /** What the server announced (this client always answers 3.8). */
  serverVersion: ProtocolVersion;
  security: 'none' | 'vnc-auth';
  serverInit: ServerInit;
}

const SECURITY_NAMES: Readonly<Record<number, string>> = { 1: 'None', 2: 'VNC authentication', 16: 'Tight', 18: 'TLS', 19: 'VeNCrypt', 20: 'SASL', 30: 'Apple' };

function securityName(type: number): string {
  return `${SECURITY_NAMES[type] ?? 'unknown'} (${type})`;
}

function chooseSecurity(endpoint: DisplayEndpoint, offered: readonly number[]): number {
  const where = describeEndpoint(endpoint);
  const hasPassword = endpoint.password !== undefined;
  if (hasPassword && offered.includes(SECURITY_VNC_AUTH)) return SECURITY_VNC_AUTH;
  if (offered.includes(SECURITY_NONE)) return SECURITY_NONE;
  const list = offered.map(securityName).join(', ');
  if (offered.includes(SECURITY_VNC_AUTH)) {
    throw new AtpError('ATP_VNC_AUTH', `the VNC server ${where} wants a password (VNC authentication) and none was given`, { details: { endpoint: where, offered } });
  }
  throw new AtpError('ATP_VNC_AUTH', `the VNC server ${where} offers security types ${list}; this client speaks None (1) and VNC authentication (2)`, { details: { endpoint: where, offered } });
}

export async function handshake(endpoint: DisplayEndpoint, inbox: Inbox, write: (bytes: Uint8Array) => void, phase: (what: string) => void): Promise<HandshakeResult> {
  const where = describeEndpoint(endpoint);
  phase('the server ProtocolVersion');
  const serverVersion = await inbox.read(decodeProtocolVersion);
  if (serverVersion.major !== 3 || serverVersion.minor < 8) {
    throw protocolError(`the VNC server ${where} speaks RFB ${serverVersion.major}.${serverVersion.minor}; this client needs 3.8`, { endpoint: where, ...serverVersion });
  }
  write(encodeProtocolVersion({ major: 3, minor: 8 }));

  phase('the security types');
  const types = await inbox.read(decodeSecurityTypes);
  if (types.kind === 'failed') {
    throw new AtpError('ATP_VNC_CONNECT', `the VNC server ${where} refused the connection: ${JSON.stringify(types.reason)}`, { details: { endpoint: where, reason: types.reason } });
  }
  const chosen = chooseSecurity(endpoint, types.types);
  write(encodeSecurityChoice(chosen));

  if (chosen === SECURITY_VNC_AUTH) {
    phase('the VNC authentication challenge');
    const challenge = await inbox.read(decodeChallenge);
    write(vncAuthResponse(challenge, endpoint.password ?? ''));
  }

  phase('the SecurityResult');
  const result = await inbox.read(decodeSecurityResult);
  if (!result.ok) {
    const what = chosen === SECURITY_VNC_AUTH ? 'the password' : 'the connection (security None)';
    throw new AtpError('ATP_VNC_AUTH', `the VNC server ${where} refused ${what}: ${JSON.stringify(result.reason)}`, { details: { endpoint: where, status: result.status, reason: result.reason } });
  }

  write(encodeClientInit(true));
  phase('ServerInit');
  const serverInit = await inbox.read(decodeServerInit);
  return { serverVersion, security: chosen === SECURITY_VNC_AUTH ? 'vnc-auth' : 'none', serverInit };
}
