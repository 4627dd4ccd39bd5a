/**
 * The `atp-host` command line (commander). Each command group lives in its own
 * file and registers itself here (lab.ts now; verify, run, ... later).
 * Exit codes: 0 ok, 2 usage or configuration error, 3 infrastructure error
 * (QEMU, the guest, apt, files).
 */
import { Command, CommanderError } from 'commander';
import { AtpError, type AtpErrorCode } from '@atp/protocol';
import { registerLabCommands } from './lab.js';
import { registerVerifyCommand } from './verify.js';
import { registerHostCommands } from './host.js';
import { registerConfigCommands } from './config.js';
import { registerAgentCommands } from './agent.js';
import { registerVmCommands } from './vm.js';
import { registerKeyboardCommands } from './keyboard.js';
import { registerMouseCommands } from './mouse.js';
import { registerCommandCommands } from './command.js';
import { registerServeCommand } from './serve.js';
import { registerScenarioCommands } from './scenario.js';
import { registerWatchCommand } from './watch.js';
import { registerInteractiveCommand } from './interactive.js';
import { registerVdiCommands } from './vdi.js';
import { registerPlatformCommands } from './platform.js';
import { registerRunsCommands } from './runs.js';

export const EXIT_OK = 0;
export const EXIT_USAGE = 2;
export const EXIT_INFRA = 3;

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

/** Error codes that mean "the user asked for something invalid", not "the machinery failed". */
const USAGE_CODES: ReadonlySet<AtpErrorCode> = new Set<AtpErrorCode>([
  'ATP_SCHEMA_INVALID', 'ATP_KEY_UNKNOWN', 'ATP_PROTOCOL_VERSION',
  'ATP_SCENARIO_READ', 'ATP_SCENARIO_YAML', 'ATP_SCENARIO_INVALID', 'ATP_INJECT_UNMAPPED_CHAR', 'ATP_INJECT_LAYOUT_UNKNOWN',
  'ATP_CONFIG_READ', 'ATP_CONFIG_YAML', 'ATP_CONFIG_HOST_UNKNOWN', 'ATP_CONFIG_HOST_EXISTS', 'ATP_RUN_NO_TARGETS',
  'ATP_VDI_PLATFORM_CHOICE', 'ATP_VDI_POOL_UNKNOWN', 'ATP_VDI_MODEL_UNKNOWN', 'ATP_VDI_VM_UNKNOWN', 'ATP_VDI_USER_UNKNOWN', 'ATP_VDI_GROUP_UNKNOWN', 'ATP_VDI_NAME_AMBIGUOUS',
  'ATP_CONFIG_PLATFORM_UNKNOWN', 'ATP_CONFIG_PLATFORM_EXISTS', 'ATP_LIBVIRT_CLONE', 'ATP_VDI_ARGUMENT', 'ATP_VDI_CREDENTIALS',
  'ATP_VDI_SIM_SEED', 'ATP_DISPLAY_URL', 'ATP_DISPLAY_CREDENTIALS',
]);

/** Error codes that mean "the command ran and some of its VMs failed" (exit 1, like verify). */
const FAILED_CODES: ReadonlySet<AtpErrorCode> = new Set<AtpErrorCode>(['ATP_VDI_VMS_FAILED']);

export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (error instanceof AtpError && FAILED_CODES.has(error.code)) return 1;
  if (error instanceof AtpError) return USAGE_CODES.has(error.code) ? EXIT_USAGE : EXIT_INFRA;
  return EXIT_INFRA;
}

/** What a command sets when it exits with something other than 0 without throwing (verify: 1 = a suite failed). */
export interface CliStatus {
  exitCode: number;
}

export function createProgram(io: CliIo, status: CliStatus = { exitCode: EXIT_OK }): Command {
  const program = new Command('atp-host')
    .description('ATP host: inject input into VMs and verify what the guest observed')
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
    if (error instanceof CommanderError) return exitCodeFor(error);
    const code = error instanceof AtpError ? `${error.code}: ` : '';
    io.err(`atp-host: ${code}${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodeFor(error);
  }
}
