/**
 * `atp-host vm clone TEMPLATE --count N` and `atp-host vm unclone PREFIX`:
 * N domains cloned from a template (createClones) on this machine or a
 * hosts.yaml host, recorded in PREFIX.clones.json in the clone root dir so
 * that `unclone` finds their dirs again (unclonePrefix). On an SSH host the
 * dirs and the state file are made through the host's SSH connection; disk
 * overlays are not (a template with writable disks is refused there).
 */
import type { Command } from 'commander';
import { withConfigDir } from './config-flag.js';
import { DEFAULT_CLONE_ROOT } from './defaults.js';
import type { CliIo } from './program.js';
import type { CloneFlags } from './vm-clone-actions.js';

export { DEFAULT_CLONE_ROOT } from './defaults.js';

export function registerVmCloneCommands(vm: Command, io: CliIo): void {
  withConfigDir(vm.command('clone').description('create N domains cloned from a template domain (transient unless --define)'))
    .argument('<template>', 'the template domain: NAME or NAME@HOST')
    .requiredOption('--count <n>', 'how many clones')
    .option('--prefix <prefix>', 'clones are named PREFIX-1, PREFIX-2, … (default: the template name)')
    .option('--dir <dir>', `clone root dir on the host; each clone's files go to DIR/NAME (default ${DEFAULT_CLONE_ROOT})`)
    .option('--host <host>', 'a hosts.yaml host (default this machine)')
    .option('--define', 'persistent domains (defined, then started) instead of transient ones')
    .option('--json', 'print as JSON')
    .action(async (template: string, flags: CloneFlags) => (await import('./vm-clone-actions.js')).cloneVms(template, flags, io));

  withConfigDir(vm.command('unclone').description('remove the clones named PREFIX-<n> and their dirs'))
    .argument('<prefix>', 'the prefix given to vm clone')
    .option('--dir <dir>', `the clone root dir given to vm clone (default ${DEFAULT_CLONE_ROOT})`)
    .option('--host <host>', 'a hosts.yaml host (default this machine)')
    .option('--json', 'print as JSON')
    .action(async (prefix: string, flags: CloneFlags) => (await import('./vm-clone-actions.js')).uncloneVms(prefix, flags, io));
}
