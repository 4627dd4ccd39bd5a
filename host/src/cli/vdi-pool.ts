/**
 * `atp-host vdi pool create|enable|disable|delete`: desk pools on an
 * OCloudView platform (vdi-platform-flag.ts says how the platform is chosen).
 *
 * - `pool create NAME --model MODEL --amount N [--prefix P] [--type
 *   dedicated|shared|teaching] [--remark TEXT] [--timeout SECONDS]`: the model
 *   by name or id; waits for the creation event (default 300 s), then prints
 *   the pool and its VMs (shut off: `vdi vm start --pool NAME` starts them).
 * - `pool enable|disable|delete NAME` (name or id). Deleting a pool deletes
 *   its VMs with it.
 * Flags are checked before the platform is called.
 */
import type { Command } from 'commander';
import { DEFAULT_POOL_CREATE_TIMEOUT_MS, VDI_POOL_TYPE_WORDS } from './defaults.js';
import type { CliIo } from './program.js';
import type { CreateFlags } from './vdi-pool-actions.js';
import { withPlatformFlags, type PlatformFlags } from './vdi-platform-flag.js';

/** Adds the `pool` group (create, enable, disable, delete) to the vdi group. */
export function registerVdiPoolCommands(group: Command, io: CliIo): void {
  const pool = group.command('pool').description('create, enable, disable or delete a desk pool');

  withPlatformFlags(pool.command('create <name>').description('create a desk pool of clones of a model and wait until the platform made them'))
    .requiredOption('--model <model>', 'the model (template) to clone, by name or id (vdi models list)')
    .requiredOption('--amount <n>', 'how many VMs')
    .option('--prefix <prefix>', 'VM name prefix (the platform names them PREFIX-1, PREFIX-2, …)')
    .option('--type <type>', `${VDI_POOL_TYPE_WORDS.join('|')} (default dedicated)`)
    .option('--remark <text>', 'a remark shown by the platform')
    .option('--timeout <seconds>', `how long to wait for the platform (default ${DEFAULT_POOL_CREATE_TIMEOUT_MS / 1000})`)
    .action(async (name: string, flags: CreateFlags) => (await import('./vdi-pool-actions.js')).createPool(name, flags, io));

  for (const [verb, what] of [
    ['enable', 'enable a desk pool (users can get its VMs)'],
    ['disable', 'disable a desk pool'],
    ['delete', 'delete a desk pool and its VMs'],
  ] as const) {
    withPlatformFlags(pool.command(`${verb} <pool>`).description(`${what} (name or id)`)).action(async (ref: string, flags: PlatformFlags) => (await import('./vdi-pool-actions.js')).changePool(verb, ref, flags, io));
  }
}
