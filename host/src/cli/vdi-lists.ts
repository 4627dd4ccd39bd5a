/**
 * `atp-host vdi hosts|vms|pools|models|users list`: what an OCloudView
 * platform (a platforms.yaml entry, vdi-platform-flag.ts) has, as a table on
 * stdout or with --json as `{ platform, <things>: [...] }` (the platform's
 * records as the client parsed them, plus the resolved names the table shows).
 *
 * - `vms list [--pool POOL] [--status running|shut-off|…]`: a pool's VMs come
 *   from the pool's own VM list; --status takes names or numbers, comma
 *   separated, and is applied here (platforms differ in what their filter takes).
 * - `users list [--group DN]`: one organisation unit, or every unit of the
 *   group tree, walked (vdi-names.ts).
 */
import type { Command } from 'commander';
import { VDI_VM_STATUS_WORDS } from './defaults.js';
import type { CliIo } from './program.js';
import type { UsersFlags, VmsFlags } from './vdi-lists-actions.js';
import { withPlatformFlags, type PlatformFlags } from './vdi-platform-flag.js';

/** Adds the `hosts`, `vms`, `pools`, `models` and `users` groups, each with `list`, to the vdi group. */
export function registerVdiListCommands(group: Command, io: CliIo): void {
  withPlatformFlags(group.command('hosts').description("the platform's hypervisor hosts").command('list').description('list the hosts'))
    .action(async (flags: PlatformFlags) => (await import('./vdi-lists-actions.js')).listVdiHosts(flags, io));

  withPlatformFlags(group.command('vms').description("the platform's VMs").command('list').description('list the VMs (of one desk pool, of some statuses)'))
    .option('--pool <pool>', 'only the VMs of this desk pool (name or id)')
    .option('--status <status>', `only VMs in these statuses (comma separated: ${VDI_VM_STATUS_WORDS.join(', ')})`)
    .action(async (flags: VmsFlags) => (await import('./vdi-lists-actions.js')).listVdiVms(flags, io));

  withPlatformFlags(group.command('pools').description("the platform's desk pools").command('list').description('list the desk pools'))
    .action(async (flags: PlatformFlags) => (await import('./vdi-lists-actions.js')).listVdiPools(flags, io));

  withPlatformFlags(group.command('models').description("the platform's models (templates desk pools clone)").command('list').description('list the models'))
    .action(async (flags: PlatformFlags) => (await import('./vdi-lists-actions.js')).listVdiModels(flags, io));

  withPlatformFlags(group.command('users').description("the platform's users (its organisation units)").command('list').description('list the users of one organisation unit, or of every unit'))
    .option('--group <dn>', "an organisation unit's distinguishedName (default: every unit of the group tree)")
    .action(async (flags: UsersFlags) => (await import('./vdi-lists-actions.js')).listVdiUsers(flags, io));
}
