/** What the `atp-host host` commands do (host.ts defines them and loads this file when one runs). */
import { AtpError } from '@atp/protocol';
import { effectiveHost, loadHosts, removeHost } from '../config/hosts-file.js';
import { DEFAULT_SSH_PORT, type HostConfig } from '../config/hosts-schema.js';
import { addCheckedHost, checkHost } from '../targets/hosts.js';
import { locationOf } from './config-flag.js';
import type { CliIo } from './program.js';

export interface AddFlags {
  configDir?: string;
  ssh?: string;
  local?: boolean;
  identity?: string;
  agent?: boolean;
  knownHosts?: string;
  libvirtUri?: string;
  maxConcurrency?: string;
  connectTimeout?: string;
  acceptNewHostKey?: boolean;
  json?: boolean;
}

const usage = (message: string, field: string): AtpError => new AtpError('ATP_SCHEMA_INVALID', message, { details: { field } });

/** `user@host[:port]`, `user@[v6addr]:port`. */
export function parseSshSpec(spec: string): { user: string; host: string; port: number } {
  const m = /^([^@\s:]+)@(?:\[([^\]\s]+)\]|([^:@\s[\]]+))(?::(\d{1,5}))?$/.exec(spec);
  const port = m?.[4] === undefined ? DEFAULT_SSH_PORT : Number(m[4]);
  if (!m || port < 1 || port > 65535) throw usage(`--ssh expects USER@HOST[:PORT], got ${JSON.stringify(spec)}`, '--ssh');
  return { user: m[1] ?? '', host: m[2] ?? m[3] ?? '', port };
}

function int(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw usage(`${flag} expects a positive integer, got ${JSON.stringify(value)}`, flag);
  return n;
}

function hostConfigFrom(flags: AddFlags): HostConfig {
  const maxConcurrency = int(flags.maxConcurrency, '--max-concurrency');
  const common = { ...(flags.libvirtUri ? { libvirtUri: flags.libvirtUri } : {}), ...(maxConcurrency ? { maxConcurrency } : {}) };
  if (flags.local) {
    if (flags.ssh) throw usage('give either --ssh or --local', '--ssh');
    return { kind: 'local', ...common };
  }
  if (!flags.ssh) throw usage('host add needs --ssh USER@HOST[:PORT] (or --local)', '--ssh');
  const { user, host, port } = parseSshSpec(flags.ssh);
  const connectTimeoutMs = int(flags.connectTimeout, '--connect-timeout');
  if (!flags.identity && !flags.agent) throw usage('host add --ssh needs --identity FILE or --agent', '--identity');
  return {
    kind: 'ssh',
    host,
    port,
    user,
    ...(flags.identity ? { identityFile: flags.identity } : {}),
    ...(flags.agent ? { agent: true as const } : {}),
    ...(flags.knownHosts ? { knownHostsFile: flags.knownHosts } : {}),
    ...(connectTimeoutMs ? { connectTimeoutMs } : {}),
    ...common,
  };
}

export async function addHost(name: string, flags: AddFlags, io: CliIo): Promise<void> {
  const config = hostConfigFrom(flags);
  const added = await addCheckedHost(name, config, locationOf(flags), {
    acceptNewHostKey: flags.acceptNewHostKey === true,
    onHostKeyRecorded: (key, file, endpoint) => {
      if (!flags.json) io.err(`recorded new host key for ${endpoint}: ${key.type} ${key.fingerprint} in ${file}\n`);
    },
  });
  const { hostKey } = added;
  if (flags.json) return io.out(`${JSON.stringify({ added: added.added, file: added.file, hostKey, recordedHostKey: added.recordedHostKey }, null, 2)}\n`);
  io.out(`added host '${name}' to ${added.file}${hostKey ? ` (host key ${hostKey.type} ${hostKey.fingerprint})` : ''}\n`);
}

export async function listHosts(flags: { configDir?: string; json?: boolean }, io: CliIo): Promise<void> {
  const loaded = await loadHosts(locationOf(flags));
  const list = Object.keys(loaded.hosts).map((n) => effectiveHost(loaded, n));
  if (flags.json) return io.out(`${JSON.stringify({ file: loaded.file, hosts: list }, null, 2)}\n`);
  if (list.length === 0) return io.out(`no hosts in ${loaded.file}\n`);
  for (const h of list) io.out(h.kind === 'local' ? `${h.name}\tlocal\t${h.libvirtUri}\n` : `${h.name}\tssh\t${h.user}@${h.host}:${h.port}\t${h.libvirtUri}\n`);
}

export async function removeHostEntry(name: string, flags: { configDir?: string; json?: boolean }, io: CliIo): Promise<void> {
  const after = await removeHost(name, locationOf(flags));
  if (flags.json) return io.out(`${JSON.stringify({ removed: name, file: after.file })}\n`);
  io.out(`removed host '${name}' from ${after.file}\n`);
}

export async function checkHostEntry(name: string, flags: { configDir?: string; json?: boolean }, io: CliIo): Promise<void> {
  const report = await checkHost(effectiveHost(await loadHosts(locationOf(flags)), name));
  if (flags.json) return io.out(`${JSON.stringify(report, null, 2)}\n`);
  io.out(`${report.name}: ok (${report.target}${report.hostKey ? `, ${report.hostKey.type} ${report.hostKey.fingerprint}` : ''}${report.connectMs === undefined ? '' : `, connected in ${report.connectMs} ms`})\n`);
  io.out(`${report.virshVersion.replace(/^/gm, '  ')}\n`);
}
