/**
 * `atp-host vdi vm start|stop|reboot|delete (VM… | --pool POOL)` and
 * `vdi vm bind-user VM… --user NAME`: VMs of an OCloudView platform
 * (vdi-platform-flag.ts says how the platform is chosen), by name or id or as
 * every VM of a desk pool.
 *
 * start/stop/reboot (`--force`: power off or reset instead of asking the
 * guest; `--timeout SECONDS`, default 120) wait until each VM is in the wanted
 * status, with a progress line per VM on stderr (vdi-vm-power.ts), then print
 * one row per VM. delete is the platform's delete; bind-user resolves the user
 * (sAMAccountName or id) through the group tree. When some VMs failed, the
 * rows are printed first and the command fails with ATP_VDI_VMS_FAILED (exit
 * 1) naming each failed VM and why.
 */
import type { Command } from 'commander';
import { DEFAULT_POWER_TIMEOUT_MS } from './defaults.js';
import type { CliIo } from './program.js';
import type { BindFlags, PowerFlags, SelectFlags } from './vdi-vm-actions.js';
import { withPlatformFlags } from './vdi-platform-flag.js';

export { DEFAULT_POWER_TIMEOUT_MS } from './defaults.js';

export interface VdiVmHooks {
  /** Whether stderr is a terminal (then a live count is redrawn in place besides the per-VM lines); default false. */
  stderrTty?: boolean;
}

/** Adds the `vm` group (start, stop, reboot, delete, bind-user) to the vdi group. */
export function registerVdiVmCommands(group: Command, io: CliIo, hooks: VdiVmHooks = {}): void {
  const vm = group.command('vm').description('start, stop, reboot, delete platform VMs or bind them to a user');

  for (const [verb, what] of [
    ['start', 'start VMs and wait until they run'],
    ['stop', 'stop VMs (ACPI; --force powers off) and wait until they are shut off'],
    ['reboot', 'reboot VMs (ACPI; --force resets) and wait until they run again'],
  ] as const) {
    withPlatformFlags(vm.command(`${verb} [vm...]`).description(`${what}: VMs by name or id, or --pool POOL`))
      .option('--pool <pool>', 'every VM of this desk pool (name or id)')
      .option('--force', verb === 'start' ? 'accepted for symmetry; a start is a start' : verb === 'stop' ? 'power off instead of an ACPI shutdown' : 'reset instead of an ACPI reboot')
      .option('--timeout <seconds>', `how long to wait for the VMs (default ${DEFAULT_POWER_TIMEOUT_MS / 1000})`)
      .action(async (refs: string[], flags: PowerFlags) => (await import('./vdi-vm-actions.js')).power(verb, refs, flags, io, hooks));
  }

  withPlatformFlags(vm.command('delete [vm...]').description("delete VMs (the platform's delete): by name or id, or --pool POOL"))
    .option('--pool <pool>', 'every VM of this desk pool (name or id)')
    .action(async (refs: string[], flags: SelectFlags) => (await import('./vdi-vm-actions.js')).remove(refs, flags, io));

  withPlatformFlags(vm.command('bind-user <vm...>').description('bind VMs (names or ids) to a user'))
    .requiredOption('--user <name>', "the user's sAMAccountName (or id): vdi users list")
    .action(async (refs: string[], flags: BindFlags) => (await import('./vdi-vm-actions.js')).bindUser(refs, flags, io));
}
