/**
 * The `atp-host` command line (commander). Each command group lives in its own
 * file and registers itself here.
 * Exit codes (exit-status.ts): 0 ok, 2 usage or configuration error, 3
 * infrastructure error (QEMU, the guest, apt, files).
 *
 * Start-up cost: `--help`, `--version` and every command's parsing load only
 * the command definitions. A definition file imports commander, other
 * definition files and types, never the machinery (the lab, the hub, libvirt,
 * ssh2, fastify, better-sqlite3, SPICE/VNC, not even @atp/protocol, whose
 * index builds every zod schema): its action loads that with `await import()`
 * when it runs. The machinery of `X.ts` lives in `X-actions.ts` (verify's one
 * action: `verify-action.ts`); where other code imports the machinery file by
 * its old name (agent.ts, serve.ts, watch.ts, interactive.ts,
 * vdi-simulate.ts), the definition is `X-command.ts`. An action file never
 * imports its definition file (a cycle); what both need is in files that load
 * nothing: config-flag.ts, defaults.ts, exit-status.ts, hands-on-flags.ts,
 * host-version.ts, injector-flags.ts, vdi-platform-flag.ts.
 * host/test/cli-start.test.ts fails when `--help` loads a heavy module.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE } from './exit-status.js';
import { HOST_VERSION } from './host-version.js';
import { registerLabCommands } from './lab.js';
import { registerVerifyCommand } from './verify.js';
import { registerHostCommands } from './host.js';
import { registerConfigCommands } from './config.js';
import { registerAgentCommands } from './agent-command.js';
import { registerVmCommands } from './vm.js';
import { registerKeyboardCommands } from './keyboard.js';
import { registerMouseCommands } from './mouse.js';
import { registerCommandCommands } from './command.js';
import { registerServeCommand } from './serve-command.js';
import { registerScenarioCommands } from './scenario.js';
import { registerWatchCommand } from './watch-command.js';
import { registerInteractiveCommand } from './interactive-command.js';
import { registerVdiCommands } from './vdi.js';
import { registerPlatformCommands } from './platform.js';
import { registerRunsCommands } from './runs.js';
import { registerCalibrateCommand } from './calibrate.js';

export { EXIT_INFRA, EXIT_OK, EXIT_USAGE } from './exit-status.js';

/** Where commands write; tests pass their own. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** What `atp-host interactive` reads lines from (default process.stdin). */
  input?: NodeJS.ReadableStream;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** What a command sets when it exits with something other than 0 without throwing (verify: 1 = a suite failed). */
export interface CliStatus {
  exitCode: number;
}

export function createProgram(io: CliIo, status: CliStatus = { exitCode: EXIT_OK }): Command {
  const program = new Command('atp-host')
    .description('ATP host: inject input into VMs and verify what the guest observed')
    .version(HOST_VERSION, '-V, --version', "print atp-host's version")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  registerLabCommands(program, io);
  registerVerifyCommand(program, io, { setExitCode: (code) => void (status.exitCode = code), processIo: io === processIo });
  registerHostCommands(program, io);
  registerConfigCommands(program, io);
  registerAgentCommands(program, io);
  registerVmCommands(program, io);
  registerKeyboardCommands(program, io);
  registerMouseCommands(program, io);
  registerCommandCommands(program, io, (code) => void (status.exitCode = code));
  registerServeCommand(program, io);
  registerScenarioCommands(program, io, (code) => void (status.exitCode = code));
  registerWatchCommand(program, io, (code) => void (status.exitCode = code));
  registerInteractiveCommand(program, io, (code) => void (status.exitCode = code));
  registerVdiCommands(program, io, { stderrTty: io === processIo && process.stderr.isTTY === true });
  registerPlatformCommands(program, io);
  registerRunsCommands(program, io, (code) => void (status.exitCode = code));
  registerCalibrateCommand(program, io, (code) => void (status.exitCode = code));
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  return program;
}

/** Parses `argv` (without node and script) and runs the command; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const status: CliStatus = { exitCode: EXIT_OK };
  const program = createProgram(io, status);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return status.exitCode;
  } catch (error) {
    // --help, --version and usage errors: commander has printed what it had to say.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    const { errorLine, exitCodeFor } = await import('./exit-codes.js');
    io.err(errorLine(error));
    return exitCodeFor(error);
  }
}
