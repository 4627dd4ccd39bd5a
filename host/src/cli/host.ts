/**
 * `atp-host host add|list|remove|check`: the hypervisors in hosts.yaml.
 * `add --ssh` connects first with strict host-key checking; the only way a new
 * host key is recorded is `--accept-new-host-key`, which prints the
 * fingerprint and appends the key to the known_hosts file the host uses.
 * Adding and checking live in targets/hosts.ts (the HTTP API uses them too);
 * host-actions.ts parses the flags and prints.
 */
import type { Command } from 'commander';
import type { AddFlags } from './host-actions.js';
import { withConfigDir } from './config-flag.js';
import type { CliIo } from './program.js';

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
    .action(async (name: string, flags: AddFlags) => (await import('./host-actions.js')).addHost(name, flags, io));

  withConfigDir(hosts.command('list').description('list the hosts in hosts.yaml'))
    .option('--json', 'print as JSON')
    .action(async (flags: { configDir?: string; json?: boolean }) => (await import('./host-actions.js')).listHosts(flags, io));

  withConfigDir(hosts.command('remove <name>').description('remove a host from hosts.yaml (known_hosts is left alone)'))
    .option('--json', 'print as JSON')
    .action(async (name: string, flags: { configDir?: string; json?: boolean }) => (await import('./host-actions.js')).removeHostEntry(name, flags, io));

  withConfigDir(hosts.command('check <name>').description('connect (strict host-key check), run `virsh -c URI version` there, report'))
    .option('--json', 'print as JSON')
    .action(async (name: string, flags: { configDir?: string; json?: boolean }) => (await import('./host-actions.js')).checkHostEntry(name, flags, io));
}
