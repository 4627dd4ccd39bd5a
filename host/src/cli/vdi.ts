/**
 * `atp-host vdi …`: the OCloudView VDI platform command group. Each
 * subcommand lives in its own file and is listed in VDI_SUBCOMMANDS; adding
 * one (e.g. `vdi hosts list`) adds a file and a line there.
 */
import type { Command } from 'commander';
import type { CliIo } from './program.js';
import { registerVdiSimulateCommand } from './vdi-simulate.js';

export type VdiSubcommand = (group: Command, io: CliIo) => void;

const VDI_SUBCOMMANDS: readonly VdiSubcommand[] = [registerVdiSimulateCommand];

/** Adds the `vdi` group to the program and every subcommand to it; returns the group. */
export function registerVdiCommands(program: Command, io: CliIo): Command {
  const group = program.command('vdi').description('OCloudView VDI platform: a local simulator of its admin API');
  for (const register of VDI_SUBCOMMANDS) register(group, io);
  return group;
}
