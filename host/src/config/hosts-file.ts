/**
 * Reads and writes hosts.yaml (through yaml-config.ts: a missing file is an
 * empty config, errors carry file:line:col, writes keep comments and are
 * atomic, mode 0600; a file group or other may read or write is refused,
 * ATP_CONFIG_FILE_MODE) and applies each host's defaults.
 */
import path from 'node:path';
import type { Document } from 'yaml';
import { AtpError, parseWith } from '@atp/protocol';
import { DEFAULT_LIBVIRT_URI, DEFAULT_SSH_PORT, hostSchema, hostsFileSchema, type HostConfig } from './hosts-schema.js';
import { configDir, expandPath, home, type ConfigLocation } from './paths.js';
import { editConfigFile, initConfigFile, loadConfigFile, writeFileAtomic, type ConfigFileKind } from './yaml-config.js';

export interface LoadedHosts {
  file: string;
  exists: boolean;
  hosts: Record<string, HostConfig>;
}

/** An ssh host with every default applied and every path absolute. */
export interface EffectiveSshHost {
  name: string;
  kind: 'ssh';
  host: string;
  port: number;
  user: string;
  identityFile: string | undefined;
  agent: boolean;
  knownHostsFile: string;
  libvirtUri: string;
  maxConcurrency: number | undefined;
  connectTimeoutMs: number | undefined;
}

export interface EffectiveLocalHost {
  name: string;
  kind: 'local';
  libvirtUri: string;
  maxConcurrency: number | undefined;
}

export type EffectiveHost = EffectiveSshHost | EffectiveLocalHost;

export async function loadHosts(location: ConfigLocation = {}): Promise<LoadedHosts> {
  const file = path.join(configDir(location), 'hosts.yaml');
  const { exists, value } = await loadConfigFile(HOSTS_KIND, file);
  return { file, exists, hosts: value.hosts };
}

/** A host by name with defaults applied, or ATP_CONFIG_HOST_UNKNOWN. */
export function effectiveHost(loaded: LoadedHosts, name: string, env: NodeJS.ProcessEnv = process.env): EffectiveHost {
  const h = loaded.hosts[name];
  if (h === undefined) {
    const known = Object.keys(loaded.hosts);
    throw new AtpError('ATP_CONFIG_HOST_UNKNOWN', `${loaded.file}: no host named '${name}' (known: ${known.length > 0 ? known.join(', ') : 'none'})`, { details: { file: loaded.file, host: name } });
  }
  const base = { name, libvirtUri: h.libvirtUri ?? DEFAULT_LIBVIRT_URI, maxConcurrency: h.maxConcurrency };
  if (h.kind === 'local') return { ...base, kind: 'local' };
  const dir = path.dirname(loaded.file);
  return {
    ...base,
    kind: 'ssh',
    host: h.host,
    port: h.port ?? DEFAULT_SSH_PORT,
    user: h.user,
    identityFile: h.identityFile === undefined ? undefined : expandPath(h.identityFile, dir, env),
    agent: h.agent === true,
    knownHostsFile: h.knownHostsFile === undefined ? path.join(home(env), '.ssh', 'known_hosts') : expandPath(h.knownHostsFile, dir, env),
    connectTimeoutMs: h.connectTimeoutMs,
  };
}

export const DEFAULT_HOSTS_YAML = `# ATP hosts: the hypervisors atp-host reaches (atp-host host add|list|remove|check).
# Each entry is \`kind: local\` (this machine) or \`kind: ssh\`:
#
#   hv1:
#     kind: ssh
#     host: hv1.example.com            # name or address
#     port: 22
#     user: root
#     identityFile: ~/.ssh/id_ed25519  # or: agent: true (keys from SSH_AUTH_SOCK)
#     knownHostsFile: ~/.ssh/known_hosts  # host keys are checked strictly against it
#     libvirtUri: qemu:///system       # the URI virsh uses on that host
#     maxConcurrency: 8                # SSH channels and calls at once on that host
#     connectTimeoutMs: 10000
#
# A host key is recorded only by \`atp-host host add NAME --ssh ... --accept-new-host-key\`.
version: 1
hosts:
  local:
    kind: local
`;

const HOSTS_KIND: ConfigFileKind<typeof hostsFileSchema> = { what: 'hosts config', schema: hostsFileSchema, section: 'hosts', defaultText: DEFAULT_HOSTS_YAML, private: true };

export { writeFileAtomic };

/** Writes the commented default hosts.yaml unless the file exists; resolves with whether it wrote. */
export function initHostsFile(location: ConfigLocation = {}): Promise<{ file: string; created: boolean }> {
  return initConfigFile(HOSTS_KIND, path.join(configDir(location), 'hosts.yaml'));
}

async function edit(location: ConfigLocation, change: (doc: Document, hosts: LoadedHosts) => void): Promise<LoadedHosts> {
  const file = path.join(configDir(location), 'hosts.yaml');
  const after = await editConfigFile(HOSTS_KIND, file, (doc, before) => change(doc, { file, exists: true, hosts: before.hosts }));
  return { file, exists: true, hosts: after.hosts };
}

export function addHost(name: string, host: HostConfig, location: ConfigLocation = {}): Promise<LoadedHosts> {
  const checked = parseWith(hostSchema, host, { source: `host '${name}'` });
  return edit(location, (doc, loaded) => {
    if (loaded.hosts[name] !== undefined) throw new AtpError('ATP_CONFIG_HOST_EXISTS', `${loaded.file}: host '${name}' already exists (atp-host host remove ${name} first)`, { details: { file: loaded.file, host: name } });
    doc.setIn(['hosts', name], doc.createNode(checked));
  });
}

export function removeHost(name: string, location: ConfigLocation = {}): Promise<LoadedHosts> {
  return edit(location, (doc, loaded) => {
    effectiveHost(loaded, name); // throws ATP_CONFIG_HOST_UNKNOWN
    doc.deleteIn(['hosts', name]);
  });
}
