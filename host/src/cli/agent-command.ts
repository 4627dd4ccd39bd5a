/** The definition of `atp-host agent build` (agent.ts runs it and is loaded only then). */
import type { Command } from 'commander';
import type { AgentBuildFlags } from './agent.js';
import type { CliIo } from './program.js';

export function registerAgentCommands(program: Command, io: CliIo): void {
  const agent = program.command('agent').description('the guest agent: single-file executables for VM templates');
  agent
    .command('build')
    .description('build the single-file agents (Node SEA) with `npm run package:agent` in this ATP checkout')
    .option('--target <list>', 'comma-separated: linux-x64, linux-arm64, win-x64 (default all)', 'all')
    .option('--out <dir>', 'output folder (default guest-agent/dist/packages)')
    .action(async (flags: AgentBuildFlags) => (await import('./agent.js')).buildAgents(flags, io));
}
