/**
 * `atp-host vm list|start|stop|reboot`: libvirt domains on this machine or a
 * hosts.yaml host (`--host HOST`, or NAME@HOST). `stop` asks the guest (ACPI)
 * unless `--force` (destroy); `reboot` likewise (ACPI, or `--force`: reset).
 * `clone` and `unclone` (clones of a template domain) live in vm-clone.ts;
 * the actions in vm-actions.ts.
 */
import type { Command } from 'commander';
import { withConfigDir } from './config-flag.js';
import type { CliIo } from './program.js';
import type { VmFlags, VmLifecycleAction } from './vm-actions.js';
import { registerVmCloneCommands } from './vm-clone.js';

export function registerVmCommands(program: Command, io: CliIo): void {
  const vm = program.command('vm').description('libvirt domains: list, start, stop, reboot, clone, unclone');

  withConfigDir(vm.command('list').description('list the domains of a host'))
    .option('--host <host>', 'a hosts.yaml host (default this machine)')
    .option('--json', 'print as JSON')
    .action(async (flags: VmFlags) => (await import('./vm-actions.js')).listVms(flags, io));

  const lifecycle = (verb: 'start' | 'stop' | 'reboot', describe: string, act: (flags: VmFlags) => VmLifecycleAction): void => {
    withConfigDir(vm.command(verb).description(describe))
      .argument('<name>', 'NAME or NAME@HOST')
      .option('--host <host>', 'a hosts.yaml host (default this machine)')
      .option('--force', verb === 'start' ? 'no effect' : verb === 'stop' ? 'destroy (pull the plug) instead of an ACPI shutdown' : 'reset instead of an ACPI reboot')
      .option('--json', 'print the result as JSON')
      .action(async (name: string, flags: VmFlags) => (await import('./vm-actions.js')).changeVmState(act(flags), name, flags, io));
  };
  lifecycle('start', 'start a defined domain', () => 'start');
  lifecycle('stop', 'shut a domain down (ACPI; --force destroys it)', (f) => (f.force === true ? 'destroy' : 'shutdown'));
  lifecycle('reboot', 'reboot a domain (ACPI; --force resets it)', (f) => (f.force === true ? 'reset' : 'reboot'));
  registerVmCloneCommands(vm, io);
}
