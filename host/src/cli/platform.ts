/**
 * `atp-host platform add|list|remove|check`: the OCloudView VDI platforms in
 * platforms.yaml (beside hosts.yaml). A password is never a flag: `add` records
 * where it comes from (`--password-file`, mode 0600, or `--password-env`,
 * default ATP_VDI_PASSWORD); `check` logs in and shows each platform host with
 * the hosts.yaml entry that reaches its libvirt (or UNMAPPED).
 */
import type { Command } from 'commander';
import { withConfigDir } from './config-flag.js';
import type { PlatformEntryFlags } from './platform-actions.js';
import type { CliIo } from './program.js';

export function registerPlatformCommands(program: Command, io: CliIo): void {
  const group = program.command('platform').description('OCloudView VDI platforms ATP talks to (platforms.yaml)');

  withConfigDir(group.command('add <name>').description('add a platform (the password is never a flag: a 0600 file or an environment variable)'))
    .option('--url <url>', 'the management server, e.g. http://10.0.0.2:8088')
    .option('--username <user>', 'the admin user')
    .option('--password-file <file>', 'a file holding the password (mode 0600)')
    .option('--password-env <name>', 'the environment variable holding the password (default ATP_VDI_PASSWORD)')
    .option('--timeout <ms>', 'per-request timeout in ms')
    .option('--map <ip=host...>', 'a platform host IP and the hosts.yaml host reaching its libvirt (repeatable)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, flags: PlatformEntryFlags) => (await import('./platform-actions.js')).addPlatformEntry(name, flags, io));

  withConfigDir(group.command('list').description('list the platforms'))
    .option('--json', 'print as JSON')
    .action(async (flags: PlatformEntryFlags) => (await import('./platform-actions.js')).listPlatforms(flags, io));

  withConfigDir(group.command('remove <name>').description('remove a platform'))
    .option('--json', 'print the result as JSON')
    .action(async (name: string, flags: PlatformEntryFlags) => (await import('./platform-actions.js')).removePlatformEntry(name, flags, io));

  withConfigDir(group.command('check <name>').description('log in, list the platform hosts and how each is reached, count VMs and pools'))
    .option('--json', 'print the result as JSON')
    .action(async (name: string, flags: PlatformEntryFlags) => (await import('./platform-actions.js')).checkPlatformEntry(name, flags, io));
}
