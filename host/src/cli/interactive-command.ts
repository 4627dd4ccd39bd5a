/** The definition of `atp-host interactive` (interactive.ts runs it and is loaded only then). */
import type { Command } from 'commander';
import { addTargetOptions } from './hands-on-flags.js';
import type { InteractiveFlags } from './interactive.js';
import type { CliIo } from './program.js';

export function registerInteractiveCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  addTargetOptions(program.command('interactive').description('type lines into the guest (text, :press, :click, :move, :wait) and see each one verified'))
    .option('--layout <name>', "the guest's keyboard layout for text (default us)")
    .option('--screen <WxH>', "the guest's screen in pixels, for :click and :move positions (default 1024x768)")
    .action(async (flags: InteractiveFlags) => (await import('./interactive.js')).interactiveCommand(flags, io, setExitCode));
}
