/**
 * Libvirt domains by name: `NAME[@HOST]`, HOST a hosts.yaml entry (default: this
 * machine, qemu:///system, unless hosts.yaml has its own `local`); a local host
 * gets a VirshLibvirtClient, an ssh host a remoteLibvirtClient through an
 * SshConnectionManager. `openDomain` also checks that the domain exists and
 * runs, with typed errors naming it. `resolveVms` turns `--vms SELECTOR[@HOST]`
 * into the NAME[@HOST] of every matching running domain; `forEachVm` runs a
 * hands-on command on `--vm` or on each of those in turn.
 *
 * `HostConnections` is what a run shares: one SSH connection manager and one
 * libvirt client per host for all of the run's VMs there (sshd's MaxStartups
 * would drop a burst of handshakes otherwise), closed when the run ends.
 */
import { AtpError, isAtpError } from '@atp/protocol';
import { effectiveHost, loadHosts, type EffectiveHost } from '../config/hosts-file.js';
import { DEFAULT_LIBVIRT_URI } from '../config/hosts-schema.js';
import type { ConfigLocation } from '../config/paths.js';
import { VirshLibvirtClient, type DomainDescription, type DomainState, type LibvirtClient } from '../vm/libvirt/index.js';
import { remoteLibvirtClient, SshConnectionManager } from '../vm/ssh/index.js';
import { selectDomains, selectNames, USABLE_STATES, type SelectOptions } from './vm-glob.js';

export interface VmRef {
  domain: string;
  /** The hosts.yaml entry; undefined = this machine. */
  host: string | undefined;
}

/** "web1" → this machine; "web1@hv2" → host hv2. ATP_SCHEMA_INVALID for an empty part. */
export function parseVmRef(spec: string): VmRef {
  const at = spec.lastIndexOf('@');
  const domain = at < 0 ? spec : spec.slice(0, at);
  const host = at < 0 ? undefined : spec.slice(at + 1);
  if (domain === '' || host === '' || /[\s/]/.test(domain)) {
    throw new AtpError('ATP_SCHEMA_INVALID', `--vm ${JSON.stringify(spec)}: expected NAME or NAME@HOST (a libvirt domain, a hosts.yaml host)`, { details: { field: 'vm', value: spec } });
  }
  return { domain, host };
}

export interface LibvirtHost {
  host: EffectiveHost;
  client: LibvirtClient;
  /** The SSH manager of an ssh host (forwards to remote unix sockets go through it). */
  ssh: SshConnectionManager | undefined;
  close(): Promise<void>;
}

/** One libvirt client (and SSH manager) per host for every target of a run; `close()` at the end of the run. */
export class HostConnections {
  private readonly hosts = new Map<string, Promise<LibvirtHost>>();
  private closed = false;
  constructor(private readonly location: ConfigLocation = {}) {}

  /** The shared connection to a host; its close() is a no-op (the run closes them all). */
  async open(hostName: string | undefined): Promise<LibvirtHost> {
    if (this.closed) throw new AtpError('ATP_LIBVIRT_CLOSED', 'the run has finished: its host connections are closed');
    const key = hostName ?? '';
    let entry = this.hosts.get(key);
    if (entry === undefined) {
      // A run's many VMs on one host share it: a few virsh processes (SSH sessions for a remote host) instead of one queue.
      entry = connectLibvirtHost(hostName, this.location, RUN_VIRSH_POOL);
      this.hosts.set(key, entry);
      entry.catch(() => this.hosts.delete(key));
    }
    const host = await entry;
    return { ...host, close: () => Promise.resolve() };
  }

  /** How many hosts have a connection (for tests and the report). */
  get size(): number {
    return this.hosts.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.close().catch(() => undefined)));
  }
}

/** The client for a hosts.yaml host (undefined: this machine); through `connections` when given (shared, closed by their owner). */
export async function openLibvirtHost(hostName: string | undefined, location: ConfigLocation = {}, connections?: HostConnections): Promise<LibvirtHost> {
  return connections === undefined ? connectLibvirtHost(hostName, location) : connections.open(hostName);
}

/** virsh processes per host in a run (each an SSH session on a remote host: keep it below sshd's MaxSessions, 10 by default). */
export const RUN_VIRSH_POOL = 4;

async function connectLibvirtHost(hostName: string | undefined, location: ConfigLocation, pool?: number): Promise<LibvirtHost> {
  const loaded = await loadHosts(location);
  const host: EffectiveHost =
    hostName === undefined && loaded.hosts.local === undefined ? { name: 'local', kind: 'local', libvirtUri: DEFAULT_LIBVIRT_URI, maxConcurrency: undefined } : effectiveHost(loaded, hostName ?? 'local');
  if (host.kind === 'local') {
    const client = new VirshLibvirtClient({ uri: host.libvirtUri, ...(pool === undefined ? {} : { pool }) });
    return { host, client, ssh: undefined, close: () => client.close() };
  }
  const ssh = new SshConnectionManager([{ ...host, maxConcurrency: host.maxConcurrency }], { heartbeatIntervalMs: 0 });
  const client = remoteLibvirtClient(ssh, host.name, { uri: host.libvirtUri, ...(pool === undefined ? {} : { pool }) });
  return {
    host,
    client,
    ssh,
    close: async () => {
      await client.close().catch(() => undefined);
      await ssh.close();
    },
  };
}

export interface OpenedDomain extends LibvirtHost {
  domain: string;
  state: DomainState;
  description: DomainDescription;
  /** "web1" or "web1@hv2", for messages and reports. */
  label: string;
}

const USABLE = USABLE_STATES;

/**
 * Opens the host and checks the domain: ATP_LIBVIRT_DOMAIN_NOT_FOUND if libvirt
 * has no such domain, ATP_LIBVIRT_DOMAIN_NOT_RUNNING if it is not running (a
 * paused one is fine: verify continues it), both naming it.
 */
export async function openDomain(spec: string, location: ConfigLocation = {}, options: { requireRunning?: boolean; connections?: HostConnections } = {}): Promise<OpenedDomain> {
  const ref = parseVmRef(spec);
  const opened = await openLibvirtHost(ref.host, location, options.connections);
  const label = ref.host === undefined ? ref.domain : `${ref.domain}@${ref.host}`;
  try {
    const info = await opened.client.lookup(ref.domain);
    if (options.requireRunning !== false && !USABLE.includes(info.state)) {
      throw new AtpError('ATP_LIBVIRT_DOMAIN_NOT_RUNNING', `domain '${ref.domain}' is ${info.state}, not running (atp-host vm start ${label})`, { details: { domain: ref.domain, host: opened.host.name, state: info.state } });
    }
    const description = await opened.client.domainXml(ref.domain);
    return { ...opened, domain: ref.domain, state: info.state, description, label };
  } catch (error) {
    await opened.close().catch(() => undefined);
    throw error;
  }
}

/** Opens `spec`, runs `fn`, always closes the connection. */
export async function withDomain<T>(spec: string, location: ConfigLocation, fn: (d: OpenedDomain) => Promise<T>, options: { requireRunning?: boolean } = {}): Promise<T> {
  const d = await openDomain(spec, location, options);
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

export interface ResolvedVms {
  /** NAME or NAME@HOST of each matching, running domain, in the host's order. */
  specs: string[];
  /** Matching domains that are not running (skipped). */
  skipped: { name: string; state: DomainState }[];
}

/**
 * `--vms SELECTOR[@HOST]` (glob, `re:REGEX` or a comma list; vm-glob.ts): lists
 * the host's domains and keeps the running ones it matches, minus `exclude`,
 * at most `limit`. ATP_RUN_NO_TARGETS (a usage error) when none is left,
 * naming the domains that exist and their states.
 */
export async function resolveVms(spec: string, location: ConfigLocation = {}, options: SelectOptions & { connections?: HostConnections } = {}): Promise<ResolvedVms> {
  const at = spec.lastIndexOf('@');
  const selector = at < 0 ? spec : spec.slice(0, at);
  const hostName = at < 0 ? undefined : spec.slice(at + 1);
  if (selector === '' || hostName === '') throw new AtpError('ATP_SCHEMA_INVALID', `--vms ${JSON.stringify(spec)}: expected SELECTOR or SELECTOR@HOST`, { details: { field: 'vms', value: spec } });
  const opened = await openLibvirtHost(hostName, location, options.connections);
  try {
    const domains = await opened.client.listDomains();
    const { matched, skipped } = selectDomains(selector, domains);
    let picked: string[];
    try {
      picked = selectNames('*', matched.map((d) => d.name), { ...(options.exclude === undefined ? {} : { exclude: options.exclude }), ...(options.limit === undefined ? {} : { limit: options.limit }) });
    } catch (error) {
      if (!isAtpError(error, 'ATP_RUN_NO_TARGETS')) throw error;
      picked = [];
    }
    if (picked.length === 0) {
      const existing = domains.map((d) => `${d.name} (${d.state})`).join(', ');
      throw new AtpError('ATP_RUN_NO_TARGETS', `--vms ${JSON.stringify(spec)}${options.exclude === undefined ? '' : ` --exclude ${JSON.stringify(options.exclude)}`}: no running domain matches on ${opened.host.name}; domains: ${existing === '' ? 'none' : existing}`, {
        details: { field: 'vms', value: spec, domains: domains.map((d) => d.name) },
      });
    }
    const skippedNames = skipped.map((d) => ({ name: d.name, state: d.state }));
    return { specs: picked.map((name) => (hostName === undefined ? name : `${name}@${hostName}`)), skipped: skippedNames };
  } finally {
    await opened.close().catch(() => undefined);
  }
}

/** Which VMs a command acts on: `--vm` (exactly one) or `--vms`; ATP_SCHEMA_INVALID unless exactly one of them is given. */
export async function targetVms(flags: { vm?: string; vms?: string }, location: ConfigLocation, log: (line: string) => void): Promise<{ specs: string[]; many: boolean }> {
  if ((flags.vm === undefined) === (flags.vms === undefined)) throw new AtpError('ATP_SCHEMA_INVALID', 'give either --vm NAME[@HOST] or --vms GLOB[@HOST]', { details: { field: 'vm' } });
  if (flags.vm !== undefined) return { specs: [flags.vm], many: false };
  const resolved = await resolveVms(flags.vms ?? '', location);
  for (const s of resolved.skipped) log(`skipped ${s.name}: ${s.state}, not running`);
  return { specs: resolved.specs, many: true };
}

/** Runs `fn` on each target VM in turn (one at a time), collecting { vm, result }. */
export async function forEachVm<T>(flags: { vm?: string; vms?: string }, location: ConfigLocation, log: (line: string) => void, fn: (spec: string) => Promise<T>): Promise<{ many: boolean; results: { vm: string; result: T }[] }> {
  const { specs, many } = await targetVms(flags, location, log);
  const results: { vm: string; result: T }[] = [];
  for (const spec of specs) results.push({ vm: spec, result: await fn(spec) });
  return { many, results };
}
