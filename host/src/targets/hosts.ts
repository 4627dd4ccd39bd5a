/**
 * The hypervisors in hosts.yaml, as both `atp-host host …` and the HTTP API
 * (/api/v1/hosts) use them: the list (with this machine as `local` when
 * hosts.yaml has no entry of that name, as openLibvirtHost treats it),
 * adding a host after connecting to it, and checking one.
 *
 * Adding an SSH host connects first with strict host-key checking; the only
 * way a new host key is recorded is `acceptNewHostKey`, which appends it to
 * the known_hosts file the host uses (a changed key is never accepted).
 * Moved out of cli/host.ts so the API adds hosts with the very same checks.
 */
import { AtpError } from '@atp/protocol';
import { addHost, effectiveHost, loadHosts, type EffectiveHost } from '../config/hosts-file.js';
import { DEFAULT_LIBVIRT_URI, type HostConfig } from '../config/hosts-schema.js';
import type { ConfigLocation } from '../config/paths.js';
import { PerCallVirsh } from '../vm/libvirt/virsh-runner.js';
import { SshConnection } from '../vm/ssh/connection.js';
import { runRemote } from '../vm/ssh/exec.js';

export interface HostKeyInfo {
  type: string;
  fingerprint: string;
}

/** This machine when hosts.yaml does not say otherwise (as openLibvirtHost reaches it). */
const THIS_MACHINE: EffectiveHost = { name: 'local', kind: 'local', libvirtUri: DEFAULT_LIBVIRT_URI, maxConcurrency: undefined };

export interface ListedHosts {
  file: string;
  /** hosts.yaml's entries in file order, with `local` first when it is only implied (see `defaultLocal`). */
  hosts: EffectiveHost[];
  /** True when `local` (this machine) was added because hosts.yaml has no host of that name. */
  defaultLocal: boolean;
}

/** hosts.yaml's hosts; `withDefaultLocal` adds this machine as `local` when the file names no such host. */
export async function listHosts(location: ConfigLocation = {}, options: { withDefaultLocal?: boolean } = {}): Promise<ListedHosts> {
  const loaded = await loadHosts(location);
  const hosts = Object.keys(loaded.hosts).map((n) => effectiveHost(loaded, n));
  const defaultLocal = options.withDefaultLocal === true && loaded.hosts.local === undefined;
  if (defaultLocal) hosts.unshift(THIS_MACHINE);
  return { file: loaded.file, hosts, defaultLocal };
}

export interface AddHostOptions {
  /** Record the host's key when known_hosts has none for it. */
  acceptNewHostKey?: boolean;
  /** Told when a new key was recorded (the CLI prints it); `endpoint` is HOST:PORT. */
  onHostKeyRecorded?: (key: HostKeyInfo, knownHostsFile: string, endpoint: string) => void;
}

export interface AddedHost {
  added: EffectiveHost;
  file: string;
  hostKey: HostKeyInfo | undefined;
  recordedHostKey: (HostKeyInfo & { knownHostsFile: string }) | undefined;
}

/**
 * Adds `name` to hosts.yaml: ATP_CONFIG_HOST_EXISTS if it is there already;
 * an SSH host is connected to first (strict host-key check; the ssh errors
 * ATP_SSH_HOST_KEY_UNKNOWN, ATP_SSH_HOST_KEY_CHANGED, ATP_SSH_AUTH, ... leave
 * hosts.yaml untouched).
 */
export async function addCheckedHost(name: string, config: HostConfig, location: ConfigLocation = {}, options: AddHostOptions = {}): Promise<AddedHost> {
  const loaded = await loadHosts(location);
  if (loaded.hosts[name] !== undefined) throw new AtpError('ATP_CONFIG_HOST_EXISTS', `${loaded.file}: host '${name}' already exists (atp-host host remove ${name} first)`, { details: { file: loaded.file, host: name } });
  const host = effectiveHost({ ...loaded, hosts: { ...loaded.hosts, [name]: config } }, name);
  let recordedHostKey: AddedHost['recordedHostKey'];
  let hostKey: HostKeyInfo | undefined;
  if (host.kind === 'ssh') {
    const connection = await SshConnection.connect(host, {
      keepaliveIntervalMs: 0,
      acceptNewHostKey: options.acceptNewHostKey === true,
      onHostKeyRecorded: (key, _line, file) => {
        recordedHostKey = { type: key.type, fingerprint: key.fingerprint, knownHostsFile: file };
        options.onHostKeyRecorded?.({ type: key.type, fingerprint: key.fingerprint }, file, `${host.host}:${host.port}`);
      },
    });
    hostKey = { type: connection.hostKey.type, fingerprint: connection.hostKey.fingerprint };
    connection.close();
  }
  const after = await addHost(name, config, location);
  return { added: effectiveHost(after, name), file: after.file, hostKey, recordedHostKey };
}

export interface CheckReport {
  name: string;
  kind: 'local' | 'ssh';
  ok: true;
  target: string;
  hostKey?: HostKeyInfo;
  connectMs?: number;
  libvirtUri: string;
  virshVersion: string;
}

/** Connects (strictly), runs `virsh -c URI version` there, reports. */
export async function checkHost(host: EffectiveHost): Promise<CheckReport> {
  if (host.kind === 'local') {
    const runner = new PerCallVirsh({ uri: host.libvirtUri, defaultTimeoutMs: 30_000 });
    const out = await runner.run(['version']);
    return { name: host.name, kind: 'local', ok: true, target: 'this machine', libvirtUri: host.libvirtUri, virshVersion: out.trim() };
  }
  const t0 = performance.now();
  const connection = await SshConnection.connect(host, { keepaliveIntervalMs: 0 });
  const connectMs = Math.round(performance.now() - t0);
  try {
    const r = await runRemote(connection, ['virsh', '-c', host.libvirtUri, 'version'], { env: { LC_ALL: 'C' }, timeoutMs: 30_000 });
    return { name: host.name, kind: 'ssh', ok: true, target: connection.label, hostKey: { type: connection.hostKey.type, fingerprint: connection.hostKey.fingerprint }, connectMs, libvirtUri: host.libvirtUri, virshVersion: r.stdout.trim() };
  } finally {
    connection.close();
  }
}

/** The host `name` for a check: hosts.yaml's, else this machine for `local` (as listHosts shows it). */
export async function hostForCheck(name: string, location: ConfigLocation = {}): Promise<EffectiveHost> {
  const loaded = await loadHosts(location);
  if (name === 'local' && loaded.hosts.local === undefined) return THIS_MACHINE;
  return effectiveHost(loaded, name);
}
