/** `atp-host config init|show`: the XDG config files (hosts.yaml for now); the actions are in config-actions.ts. */
import type { Command } from 'commander';
import type { ConfigFlags } from './config-actions.js';
import { withConfigDir } from './config-flag.js';
import type { CliIo } from './program.js';

export function registerConfigCommands(program: Command, io: CliIo): void {
  const config = program.command('config').description('ATP config files (hosts.yaml)');

  withConfigDir(config.command('init').description('write a commented default hosts.yaml unless one exists'))
    .option('--json', 'print the result as JSON')
    .action(async (flags: ConfigFlags) => (await import('./config-actions.js')).configInit(flags, io));

  withConfigDir(config.command('show').description('print the effective config (defaults applied, paths resolved)'))
    .option('--json', 'print as JSON')
    .action(async (flags: ConfigFlags) => (await import('./config-actions.js')).configShow(flags, io));
}
