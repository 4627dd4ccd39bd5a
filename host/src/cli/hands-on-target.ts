/**
 * The target flags of the hands-on commands (`atp-host watch`, `atp-host
 * interactive`) and opening that one target with a hub of its own:
 *
 *  - `--lab`: boots a lab VM (labOpener, its own random token), stopped on close;
 *  - `--vm NAME[@HOST] --token T`: a running libvirt domain (libvirtOpener), left running;
 *  - `--qmp SOCKET --agent virtio:SOCKET|tcp:PORT|ws:PORT --token T`: a running VM (qmpOpener).
 * The token T comes from --token-file (0600), --token-stdin, $ATP_TOKEN or
 * --token (with a warning): `withHandsOnToken` reads it (secret-source.ts)
 * and gives the command an io that never prints it.
 *
 * The checks mirror `atp-host verify`'s for one VM (verify-options.ts belongs to
 * verify; these are copies so the two commands' flags can move independently).
 * Every mistake is an ATP_SCHEMA_INVALID naming the flag, raised before anything
 * boots. `handsOnSignals` turns SIGINT/SIGTERM into an AbortSignal: a lab VM
 * still booting is stopped through the opener's context signal.
 */
import { randomBytes } from 'node:crypto';
import { AtpError } from '@atp/protocol';
import { AgentHub } from '../hub/index.js';
import { parseAgentEndpoint } from '../scenario/index.js';
import { labOpener, libvirtOpener, parseVmRef, qmpOpener, type Target, type TargetOpener } from '../targets/index.js';
import { LAB_INPUT_PROFILES, LAB_KEYBOARDS, type LabInputProfile, type LabKeyboard } from '../lab/index.js';
import type { TargetFlags } from './hands-on-flags.js';
import type { CliIo } from './program.js';
import { agentTokenOf, redactingIo, tokenFlagGiven } from './secret-source.js';

export { addTargetOptions, type TargetFlags } from './hands-on-flags.js';

/** program.ts's exit codes (a value import from it would be a cycle). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;

/** A command-line mistake of `command` (exit code 2). */
export function handsOnUsage(command: string, message: string, field = 'command line'): AtpError {
  return new AtpError('ATP_SCHEMA_INVALID', `${command}: ${message}`, { details: { field } });
}

/** The flags with the agent token read (not for --lab: it makes its own) and an io that never prints that token. */
export async function withHandsOnToken<F extends TargetFlags>(command: string, flags: F, io: CliIo): Promise<{ flags: F; io: CliIo }> {
  if (flags.lab === true) return { flags, io };
  const token = await agentTokenOf(flags, { env: process.env, ...(io.input === undefined ? {} : { stdin: io.input }), warn: (line) => io.err(`atp-host ${command}: ${line}\n`) });
  return { flags: { ...flags, token }, io: redactingIo(io, [token]) };
}

/** Checks the target flags (without touching anything); throws ATP_SCHEMA_INVALID naming the flag. */
export function checkTargetFlags(command: string, flags: TargetFlags): void {
  const given = [flags.lab === true ? '--lab' : undefined, flags.vm === undefined ? undefined : '--vm', flags.qmp === undefined ? undefined : '--qmp'].filter((f) => f !== undefined);
  if (given.length !== 1) {
    throw handsOnUsage(command, `give exactly one of --lab, --vm NAME[@HOST] --token T, or --qmp SOCKET --agent ENDPOINT --token T${given.length > 1 ? ` (got ${given.join(', ')})` : ''}`);
  }
  if (flags.lab === true && (flags.agent !== undefined || tokenFlagGiven(flags))) throw handsOnUsage(command, '--lab sets up its own agent link and token: drop --agent/--token', 'token');
  if (flags.lab !== true && flags.cacheDir !== undefined) throw handsOnUsage(command, '--cache-dir is for the lab VM: it needs --lab', 'cacheDir');
  if (flags.vm !== undefined) {
    parseVmRef(flags.vm);
    if (flags.agent !== undefined) throw handsOnUsage(command, "--vm reaches the agent through the domain's org.atp.agent.0 channel: drop --agent", 'agent');
    if (flags.token === undefined) throw handsOnUsage(command, '--vm needs --token T (the token the guest agent presents)', 'token');
  }
  if (flags.qmp !== undefined && (flags.agent === undefined || flags.token === undefined)) throw handsOnUsage(command, '--qmp needs --agent virtio:SOCKET|tcp:PORT|ws:PORT and --token T', 'agent');
  if (flags.agent !== undefined) parseAgentEndpoint(flags.agent);
  if (flags.agentId !== undefined && flags.qmp === undefined) throw handsOnUsage(command, '--agent-id picks an agent on a --qmp tcp/ws endpoint: it needs --qmp', 'agentId');
  labInput(command, flags);
  timeoutMs(command, flags.timeout);
}

/** `--lab-input` / `--lab-keyboard` (only with --lab; a non-PS/2 keyboard needs the desktop profile). */
function labInput(command: string, flags: TargetFlags): { inputProfile?: LabInputProfile; keyboard?: LabKeyboard } {
  if (flags.labInput === undefined && flags.labKeyboard === undefined) return {};
  if (flags.lab !== true) throw handsOnUsage(command, '--lab-input and --lab-keyboard shape the lab VM: they need --lab', 'labInput');
  const pick = <T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined => {
    if (value === undefined) return undefined;
    const found = allowed.find((a) => a === value);
    if (found === undefined) throw handsOnUsage(command, `${flag} expects one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`, flag.slice(2));
    return found;
  };
  const inputProfile = pick(flags.labInput, LAB_INPUT_PROFILES, '--lab-input');
  const keyboard = pick(flags.labKeyboard, LAB_KEYBOARDS, '--lab-keyboard');
  if (keyboard !== undefined && keyboard !== 'ps2' && inputProfile !== 'desktop') throw handsOnUsage(command, `--lab-keyboard ${keyboard} needs --lab-input desktop (the minimal guest has only the PS/2 keyboard)`, 'labKeyboard');
  return { ...(inputProfile === undefined ? {} : { inputProfile }), ...(keyboard === undefined ? {} : { keyboard }) };
}

function timeoutMs(command: string, text: string | undefined): number {
  if (text === undefined) return 120_000;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || seconds <= 0 || seconds > 3600) throw handsOnUsage(command, `--timeout ${JSON.stringify(text)}: expected seconds in (0, 3600]`, 'timeout');
  return seconds * 1000;
}

function openerFor(command: string, flags: TargetFlags): TargetOpener {
  const wait = timeoutMs(command, flags.timeout);
  if (flags.lab === true) {
    return labOpener('lab', { ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }), ...labInput(command, flags), killOnExit: true });
  }
  if (flags.vm !== undefined) {
    return libvirtOpener(flags.vm, { token: flags.token ?? '', timeoutMs: wait, ...(flags.configDir === undefined ? {} : { location: { configDir: flags.configDir } }) });
  }
  const qmp = flags.qmp ?? '';
  return qmpOpener(qmp, { qmp, agent: parseAgentEndpoint(flags.agent ?? ''), timeoutMs: wait, ...(flags.agentId === undefined ? {} : { agentId: flags.agentId }) });
}

export interface OpenedHandsOn {
  target: Target;
  /** Closes the target (a lab VM stops, a libvirt domain keeps running), then the hub. Idempotent. */
  close(): Promise<void>;
}

/** Creates the hub and opens the one target the (checked) flags name; `signal` stops a lab VM that is still booting. */
export async function openHandsOnTarget(command: string, flags: TargetFlags, options: { signal: AbortSignal; log: (line: string) => void }): Promise<OpenedHandsOn> {
  checkTargetFlags(command, flags);
  const opener = openerFor(command, flags);
  // --lab: the VM binds its own token to its label; this one only fills the hub's list.
  const hub = await AgentHub.create({ auth: { tokens: [flags.token ?? randomBytes(16).toString('hex')] } });
  let target: Target;
  try {
    target = await opener.open({ hub, signal: options.signal, log: options.log });
  } catch (error) {
    await hub.close().catch(() => undefined);
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      try {
        await target.close();
      } finally {
        await hub.close().catch(() => undefined);
      }
    })());
  return { target, close };
}

/** SIGINT/SIGTERM → an aborted signal (and a note on stderr); dispose() removes the handlers. */
export function handsOnSignals(command: string, io: CliIo): { signal: AbortSignal; dispose(): void } {
  const abort = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    io.err(`\natp-host ${command}: ${name}: stopping\n`);
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: abort.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
