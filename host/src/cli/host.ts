/**
 * `atp-host host add|list|remove|check`: the hypervisors in hosts.yaml.
 * `add --ssh` connects first with strict host-key checking; the only way a new
 * host key is recorded is `--accept-new-host-key`, which prints the
 * fingerprint and appends the key to the known_hosts file the host uses.
 * Adding and checking live in targets/hosts.ts (the HTTP API uses them too);
 * this file parses the flags and prints.
 */
import type { Command } from 'commander';
import { AtpError } from '@atp/protocol';
import { effectiveHost, loadHosts, removeHost } from '../config/hosts-file.js';
import { DEFAULT_SSH_PORT, type HostConfig } from '../config/hosts-schema.js';
import { addCheckedHost, checkHost } from '../targets/hosts.js';
import { locationOf, withConfigDir } from './config.js';
import type { CliIo } from './program.js';

interface AddFlags {
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

export function registerHostCommands(program: Command, io: CliIo): void {
  const hosts = program.command('host').description('hypervisors ATP reaches: this machine or over SSH (hosts.yaml)');

  withConfigDir(hosts.command('add <name>').description('add a host; an SSH host is connected to first (strict host-key check)'))
    .option('--ssh <user@host[:port]>', 'an SSH host')
    .option('--local', 'this machine')
    .option('--identity <file>', 'private key file')
    .option('--agent', 'authenticate with the agent at SSH_AUTH_SOCK')
    .option('--known-hosts <file>', 'known_hosts file (default ~/.ssh/known_hosts)')
    .option('--libvirt-uri <uri>', 'libvirt URI on that host (default qemu:///system)')
    .option('--max-concurrency <n>', 'SSH channels and calls at once')
    .option('--connect-timeout <ms>', 'connect timeout in ms')
    .option('--accept-new-host-key', 'record the host key if known_hosts has none for it (prints its fingerprint); a CHANGED key is never accepted')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, flags: AddFlags) => {
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
    });

  withConfigDir(hosts.command('list').description('list the hosts in hosts.yaml'))
    .option('--json', 'print as JSON')
    .action(async (flags: { configDir?: string; json?: boolean }) => {
      const loaded = await loadHosts(locationOf(flags));
      const list = Object.keys(loaded.hosts).map((n) => effectiveHost(loaded, n));
      if (flags.json) return io.out(`${JSON.stringify({ file: loaded.file, hosts: list }, null, 2)}\n`);
      if (list.length === 0) return io.out(`no hosts in ${loaded.file}\n`);
      for (const h of list) io.out(h.kind === 'local' ? `${h.name}\tlocal\t${h.libvirtUri}\n` : `${h.name}\tssh\t${h.user}@${h.host}:${h.port}\t${h.libvirtUri}\n`);
    });

  withConfigDir(hosts.command('remove <name>').description('remove a host from hosts.yaml (known_hosts is left alone)'))
    .option('--json', 'print as JSON')
    .action(async (name: string, flags: { configDir?: string; json?: boolean }) => {
      const after = await removeHost(name, locationOf(flags));
      if (flags.json) return io.out(`${JSON.stringify({ removed: name, file: after.file })}\n`);
      io.out(`removed host '${name}' from ${after.file}\n`);
    });

  withConfigDir(hosts.command('check <name>').description('connect (strict host-key check), run `virsh -c URI version` there, report'))
    .option('--json', 'print as JSON')
    .action(async (name: string, flags: { configDir?: string; json?: boolean }) => {
      const report = await checkHost(effectiveHost(await loadHosts(locationOf(flags)), name));
      if (flags.json) return io.out(`${JSON.stringify(report, null, 2)}\n`);
      io.out(`${report.name}: ok (${report.target}${report.hostKey ? `, ${report.hostKey.type} ${report.hostKey.fingerprint}` : ''}${report.connectMs === undefined ? '' : `, connected in ${report.connectMs} ms`})\n`);
      io.out(`${report.virshVersion.replace(/^/gm, '  ')}\n`);
    });
}
