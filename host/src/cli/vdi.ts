/**
 * `atp-host vdi …`: the OCloudView VDI platform command group. Each
 * subcommand lives in its own file and is listed in VDI_SUBCOMMANDS; adding
 * one adds a file and a line there.
 */
import type { Command } from 'commander';
import type { CliIo } from './program.js';
import { registerVdiListCommands } from './vdi-lists.js';
import { registerVdiPoolCommands } from './vdi-pool.js';
import { registerVdiSimulateCommand } from './vdi-simulate-command.js';
import { registerVdiVmCommands } from './vdi-vm.js';

export type VdiSubcommand = (group: Command, io: CliIo, hooks: VdiHooks) => void;

export interface VdiHooks {
  /** stderr is this process's and a terminal: progress may redraw a line in place. */
  stderrTty: boolean;
}

const VDI_SUBCOMMANDS: readonly VdiSubcommand[] = [
  (group, io) => registerVdiSimulateCommand(group, io),
  registerVdiListCommands,
  registerVdiPoolCommands,
  (group, io, hooks) => registerVdiVmCommands(group, io, { stderrTty: hooks.stderrTty }),
];

/** Adds the `vdi` group to the program and every subcommand to it; returns the group. */
export function registerVdiCommands(program: Command, io: CliIo, hooks: VdiHooks = { stderrTty: false }): Command {
  const group = program.command('vdi').description('OCloudView VDI platform: hosts, VMs, desk pools, models and users of a platform in platforms.yaml; VM power; a local simulator of its admin API');
  for (const register of VDI_SUBCOMMANDS) register(group, io, hooks);
  return group;
}
