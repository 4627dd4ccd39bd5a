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
import { AtpError } from '@atp/protocol';
import { locationOf, withConfigDir } from './config.js';
import type { CliIo } from './program.js';
import { forEachVm } from '../targets/domains.js';
import { execInDomain, exitCodeOf } from '../targets/guest-exec.js';

interface ExecFlags {
  vm?: string;
  vms?: string;
  configDir?: string;
  timeout?: string;
  json?: boolean;
}

function seconds(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new AtpError('ATP_SCHEMA_INVALID', `--timeout ${JSON.stringify(text)}: expected seconds > 0`, { details: { field: 'timeout', value: text } });
  return n * 1000;
}

export function registerCommandCommands(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const group = program.command('command').description('run programs in a guest (QEMU guest agent)');
  withConfigDir(group.command('exec').description('run CMD ARGS... in the guest; print its output; exit with its exit code'))
    .option('--vm <name[@host]>', 'the libvirt domain (HOST from hosts.yaml; default this machine)')
    .option('--vms <glob[@host]>', 'every running domain whose name matches (*, ?, [abc]), one at a time; shut-off ones are skipped')
    .option('--timeout <seconds>', 'give up waiting for the program after this long (default 60)')
    .option('--json', 'print { exitCode, signal, stdout, stderr } as JSON')
    .argument('<cmd>', 'the program (a path in the guest, or a name on its PATH)')
    .argument('[args...]', 'its arguments (put -- before them when they start with -)')
    .action(async (cmd: string, args: string[], flags: ExecFlags) => {
      const deadlineMs = seconds(flags.timeout, 60_000);
      const location = locationOf(flags);
      const { many, results } = await forEachVm(flags, location, (line) => io.err(`command: ${line}\n`), async (spec) => {
        const r = await execInDomain(spec, location, cmd, args, { deadlineMs });
        return { code: exitCodeOf(r), json: r };
      });
      if (flags.json === true) {
        io.out(`${JSON.stringify(many ? results.map((r) => ({ vm: r.vm, result: r.result.json })) : { vm: flags.vm, ...results[0]?.result.json })}\n`);
      } else {
        for (const { vm, result } of results) {
          if (many) io.out(`==> ${vm} (exit ${result.code}) <==\n`);
          io.out(result.json.stdout);
          if (many && result.json.stderr !== '') io.err(`==> ${vm} <==\n`);
          io.err(result.json.stderr);
        }
      }
      setExitCode(Math.max(0, ...results.map((r) => r.result.code)));
    });
}
