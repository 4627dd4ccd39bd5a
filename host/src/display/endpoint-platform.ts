/**
 * A DisplayEndpoint from the VDI platform's display answers (host/src/vdi's
 * client: spiceKey → SpiceKeyVO {ip, port, key}, ports → [{type, value}],
 * vncPassword → the VNC password; display/ may not import vdi/, so the shapes
 * are restated structurally and any object with those methods will do).
 *
 * - SPICE: host and port from the spice key; the platform's `key` is the SPICE
 *   ticket, i.e. the password. A port missing from the key falls back to the
 *   `spice` entry of the port list.
 * - VNC: the `vnc` entry of the port list, on the host of the spice key (the
 *   hypervisor the VM runs on) unless the caller names the host; the password
 *   from vnc-password, which the platform changes on every call: fetch it once
 *   per connection, i.e. once per endpoint.
 * - No SPICE key / port, no vnc port: ATP_DISPLAY_NONE naming the VM.
 * The key and password are secrets: never in messages (describeEndpoint).
 */
import { AtpError } from '@atp/protocol';
import type { DisplayEndpoint, DisplayProtocol } from './endpoint.js';

export interface SpiceKeyLike {
  ip: string;
  port: number;
  key?: string | undefined;
}

export interface DomainPortLike {
  type: string;
  value: number;
}

/** What the platform answered about one VM's display. */
export interface PlatformDisplayInfo {
  spiceKey?: SpiceKeyLike;
  ports?: readonly DomainPortLike[];
  vncPassword?: string;
}

export interface PlatformEndpointOptions {
  /** The VM's name (or id), for messages. */
  vm: string;
  protocol: DisplayProtocol;
  /** The host to connect to, when the caller knows better than the spice key's ip (e.g. from the VM's placement). */
  host?: string;
}

const validPort = (p: number | undefined): p is number => p !== undefined && Number.isInteger(p) && p >= 1 && p <= 65535;
const portOf = (ports: readonly DomainPortLike[] | undefined, type: string): number | undefined => ports?.find((p) => p.type.toLowerCase() === type && validPort(p.value))?.value;

export function endpointFromPlatform(info: PlatformDisplayInfo, options: PlatformEndpointOptions): DisplayEndpoint {
  const { vm, protocol } = options;
  const none = (why: string): AtpError => new AtpError('ATP_DISPLAY_NONE', `VM ${vm}: the platform gave ${why}`, { details: { vm, protocol } });
  const host = options.host ?? (info.spiceKey?.ip === '' ? undefined : info.spiceKey?.ip);
  if (protocol === 'spice') {
    const port = validPort(info.spiceKey?.port) ? info.spiceKey.port : portOf(info.ports, 'spice');
    if (host === undefined || port === undefined) throw none(`no SPICE ${host === undefined ? 'host' : 'port'} (is the VM running?)`);
    const key = info.spiceKey?.key;
    return { protocol, address: { kind: 'tcp', host, port }, ...(key === undefined || key === '' ? {} : { password: key }) };
  }
  const port = portOf(info.ports, 'vnc');
  if (port === undefined) throw none(`no VNC port (its port list has ${info.ports?.map((p) => p.type).join(', ') || 'nothing'})`);
  if (host === undefined) throw none('no host for its VNC display (no SPICE key with an ip, and none given)');
  const password = info.vncPassword;
  return { protocol, address: { kind: 'tcp', host, port }, ...(password === undefined || password === '' ? {} : { password }) };
}

/** The calls of host/src/vdi's OCloudClient this needs. */
export interface PlatformDisplayClient {
  spiceKey(id: string, options?: { signal?: AbortSignal }): Promise<SpiceKeyLike>;
  ports(id: string, options?: { signal?: AbortSignal }): Promise<readonly DomainPortLike[]>;
  vncPassword(id: string, options?: { signal?: AbortSignal }): Promise<string>;
}

/** Asks the platform for a VM's display (SPICE: spice-key; VNC: spice-key for the host unless given, port list, one fresh VNC password). */
export async function platformDisplayEndpoint(
  client: PlatformDisplayClient,
  vm: { id: string; name: string },
  protocol: DisplayProtocol,
  options: { host?: string; signal?: AbortSignal } = {},
): Promise<DisplayEndpoint> {
  const call = options.signal === undefined ? {} : { signal: options.signal };
  const base = { vm: vm.name, protocol, ...(options.host === undefined ? {} : { host: options.host }) };
  if (protocol === 'spice') return endpointFromPlatform({ spiceKey: await client.spiceKey(vm.id, call) }, base);
  const spiceKey = options.host === undefined ? await client.spiceKey(vm.id, call) : undefined;
  const ports = await client.ports(vm.id, call);
  // Check the port before asking for a password: each call makes the platform set a new one.
  endpointFromPlatform({ ...(spiceKey === undefined ? {} : { spiceKey }), ports }, base);
  return endpointFromPlatform({ ...(spiceKey === undefined ? {} : { spiceKey }), ports, vncPassword: await client.vncPassword(vm.id, call) }, base);
}
