/** The definition of `atp-host watch` (watch.ts runs it and is loaded only then). */
import type { Command } from 'commander';
import { addTargetOptions } from './hands-on-flags.js';
import type { WatchFlags } from './watch.js';
import type { CliIo } from './program.js';

export function registerWatchCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  addTargetOptions(program.command('watch').description("print every input event the guest's agent observes, live, until Ctrl+C"))
    .option('--json', 'one JSON line per hub item (event or notice) instead of text')
    .option('--for <seconds>', 'stop after this many seconds')
    .action(async (flags: WatchFlags) => (await import('./watch.js')).watchCommand(flags, io, setExitCode));
}
