/**
 * `atp-host command exec --vm NAME[@HOST] -- CMD ARGS...`: runs a program in
 * the guest through the QEMU guest agent (libvirt's qemu-agent-command,
 * guest-exec + guest-exec-status), prints its stdout and stderr and exits with
 * its exit code (128 + signal when a signal ended it). `--json` prints
 * { exitCode, signal, stdout, stderr, ... } instead and still exits with it.
 * `--vms GLOB[@HOST]` runs it on every matching running domain in turn: each
 * VM's output under a `==> NAME <==` header (JSON: [{ vm, result }]), exit code
 * the worst (highest) of them. The guest side is targets/guest-exec.ts (the
 * HTTP API's /api/v1/command/exec runs the same).
 */
import type { Command } from 'commander';
import type { ExecFlags } from './command-actions.js';
import { withConfigDir } from './config-flag.js';
import type { CliIo } from './program.js';

export function registerCommandCommands(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const group = program.command('command').description('run programs in a guest (QEMU guest agent)');
  withConfigDir(group.command('exec').description('run CMD ARGS... in the guest; print its output; exit with its exit code'))
    .option('--vm <name[@host]>', 'the libvirt domain (HOST from hosts.yaml; default this machine)')
    .option('--vms <glob[@host]>', 'every running domain whose name matches (*, ?, [abc]), one at a time; shut-off ones are skipped')
    .option('--timeout <seconds>', 'give up waiting for the program after this long (default 60)')
    .option('--json', 'print { exitCode, signal, stdout, stderr } as JSON')
    .argument('<cmd>', 'the program (a path in the guest, or a name on its PATH)')
    .argument('[args...]', 'its arguments (put -- before them when they start with -)')
    .action(async (cmd: string, args: string[], flags: ExecFlags) => (await import('./command-actions.js')).execCommand(cmd, args, flags, io, setExitCode));
}
