/** The definition of `atp-host vdi simulate` (vdi-simulate.ts runs it and is loaded only then). */
import type { Command } from 'commander';
import { DEFAULT_SIMULATE_HOST, DEFAULT_SIMULATE_PORT } from './defaults.js';
import type { CliIo } from './program.js';
import type { SimulateFlags, SimulateHooks } from './vdi-simulate.js';

export function registerVdiSimulateCommand(group: Command, io: CliIo, hooks: SimulateHooks = {}): void {
  group
    .command('simulate')
    .description('serve a simulated OCloudView admin API whose desk pool VMs are clones of the given templates, until Ctrl+C')
    .requiredOption('--model <name...>', 'template domains (defined in libvirt, normally shut off) offered as models')
    .option('--port <port>', `TCP port (default ${DEFAULT_SIMULATE_PORT}; 0 picks a free one)`)
    .option('--host <addr>', `address to bind (default ${DEFAULT_SIMULATE_HOST})`)
    .option('--state-dir <dir>', 'where clone dirs go (default: a new temp dir, removed at exit)')
    .option('--seed <file>', 'YAML seed: admin (username, password), ous, users')
    .option('--token-lifetime <seconds>', 'how long a login token lives (default 1800)')
    .action(async (flags: SimulateFlags) => (await import('./vdi-simulate.js')).simulate(flags, io, hooks));
}
