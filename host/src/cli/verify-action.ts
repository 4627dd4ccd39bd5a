/** What `atp-host verify` does (verify.ts defines the command, its flags and help, and loads this file when it runs). */
import { randomBytes } from 'node:crypto';
import { isAtpError, type RunEvent } from '@atp/protocol';
import { AgentHub } from '../hub/index.js';
import { formatFleetEvent, formatFleetLine, formatSummary, FleetProgress, toJsonReport, writeJsonReport, writeJunitReport } from '../report/index.js';
import { writeHtmlReport } from '../report/html-write.js';
import { runFleet, type RunResult, type RunSuiteSpec } from '../run/index.js';
import { loadAnySuite, loadSuite, parseAgentEndpoint, planSuite, resolvePacing, type LoadedAnySuite, type LoadedSuiteV2, type PacingFlags } from '../scenario/index.js';
import type { LabDisplayOptions } from '../lab/index.js';
import { CalibrationStore } from '../scenario/calibration-store.js';
import { configDir } from '../config/paths.js';
import { HostConnections, type InjectorChoice, type TargetOpener } from '../targets/index.js';
import type { CliIo } from './program.js';
import { parseFleetFlags, type FleetFlags, type FleetSettings } from './verify-fleet-options.js';
import { parseInjectorFlags, type InjectorFlags } from './injector-flags.js';
import { agentTokenOf, redactingIo, tokenFlagGiven, type AgentTokenFlags } from './secret-source.js';
import { verifyPlatformSuite } from './verify-platform-suite.js';
import { openers, type TargetFlags } from './verify-targets.js';
import { HOST_VERSION, labAgentOptions, labInputOptions, parseReportSpecs, verifyUsage, vmFlagProblem, type ReportSpec } from './verify-options.js';

export const EXIT_FAILED = 1;

export interface VerifyFlags extends FleetFlags, TargetFlags, InjectorFlags, AgentTokenFlags {
  layout?: string;
  rate?: string;
  closedLoop?: boolean | string;
  report?: string[];
  json?: boolean;
}

interface Prepared {
  suites: RunSuiteSpec[];
  injector: Partial<InjectorChoice>;
  pacing: PacingFlags;
  reports: ReportSpec[];
  fleet: FleetSettings;
}

/** Everything that can be wrong with the command line or the suites, before anything starts. */
async function prepare(files: string[], flags: VerifyFlags): Promise<Prepared> {
  if (files.length === 0) throw verifyUsage('no suite file given (atp-host verify [options] <suite.yaml...>)');
  const vmProblem = vmFlagProblem(flags);
  if (vmProblem !== undefined) throw verifyUsage(vmProblem);
  labAgentOptions(flags);
  labInputOptions(flags);
  if (flags.vm === undefined && flags.vms === undefined && flags.platform === undefined && (flags.lab === true) === (flags.qmp !== undefined)) {
    throw verifyUsage('give either --lab, --vm NAME[@HOST] or --vms SELECTOR[@HOST] with --token, --platform NAME [--pool POOL] with --token, or --qmp SOCKET with --agent and --token');
  }
  if (flags.qmp !== undefined && (flags.agent === undefined || flags.token === undefined)) throw verifyUsage('--qmp needs --agent virtio:SOCKET|tcp:PORT|ws:PORT and --token T');
  if (flags.lab === true && (flags.agent !== undefined || tokenFlagGiven(flags))) throw verifyUsage('--lab sets up its own agent link and token: drop --agent/--token');
  if (flags.agent !== undefined) parseAgentEndpoint(flags.agent);
  const fleet = parseFleetFlags(flags);
  if (fleet.count !== undefined && flags.lab !== true) throw verifyUsage('--count boots that many lab VMs: it needs --lab');
  if ((fleet.exclude !== undefined || fleet.limit !== undefined) && flags.vms === undefined && flags.platform === undefined) throw verifyUsage('--exclude and --limit narrow --vms SELECTOR[@HOST] or --platform');
  if (fleet.count !== undefined && fleet.count > 1 && flags.stateDir !== undefined) throw verifyUsage('--state-dir names one lab VM: drop it with --count');
  if (fleet.rounds !== undefined && fleet.durationMs !== undefined) throw verifyUsage('give either --loop N or --duration, not both');
  const pacing: PacingFlags = {};
  if (flags.rate !== undefined) pacing.rate = Number(flags.rate);
  if (flags.closedLoop !== undefined) pacing.closedLoop = flags.closedLoop === true ? true : Number(flags.closedLoop);
  pacing.calibration = new CalibrationStore(configDir(flags.configDir === undefined ? {} : { configDir: flags.configDir }));
  const reports = parseReportSpecs(flags.report ?? []);
  const injector = await parseInjectorFlags(flags);
  const suites: RunSuiteSpec[] = [];
  for (const file of files) {
    const loaded = await loadSuite(file);
    if (flags.layout !== undefined) loaded.scenario.target.layout = flags.layout;
    resolvePacing(loaded.scenario.defaults, pacing);
    suites.push({ loaded, plan: planSuite(loaded.scenario) });
  }
  return { suites, injector, pacing, reports, fleet };
}

/** The lab boots SPICE and VNC servers (unix sockets in its 0700 state dir) when a suite or --injector needs one. */
function labDisplayFor(prepared: Prepared): LabDisplayOptions | undefined {
  const kinds = new Set(prepared.injector.kind !== undefined ? [prepared.injector.kind] : prepared.suites.map((s) => s.loaded.scenario.target.injector));
  if (prepared.injector.endpoint !== undefined || (!kinds.has('spice') && !kinds.has('vnc'))) return undefined;
  return { ...(kinds.has('spice') ? { spice: {} } : {}), ...(kinds.has('vnc') ? { vnc: {} } : {}) };
}

/**
 * A version 2 suite among the files (which must then be alone). Every file is
 * loaded with the loader that takes both formats, so a broken v2 suite reports
 * its own file:line:column; a number is the exit code of such a usage error.
 */
async function platformSuiteIn(files: readonly string[], io: CliIo): Promise<LoadedSuiteV2 | number | undefined> {
  const loaded: LoadedAnySuite[] = [];
  for (const file of files) {
    try {
      loaded.push(await loadAnySuite(file));
    } catch (error) {
      if (!isAtpError(error)) throw error;
      io.err(`atp-host verify: ${error.message}\n`);
      return 2;
    }
  }
  const v2 = loaded.find((l): l is LoadedSuiteV2 => l.version === 2);
  if (v2 === undefined) return undefined;
  if (files.length > 1) {
    io.err(`atp-host verify: ${v2.source} is a version 2 suite (platform steps): run it on its own\n`);
    return 2;
  }
  return v2;
}

/** `atp-host verify` (verify.ts defines it): reads the agent token (secret-source.ts), then runs with it kept out of what it prints. */
export async function verify(files: string[], given: VerifyFlags, rawIo: CliIo, onProcess: boolean): Promise<number> {
  let token: string | undefined;
  try {
    // --lab makes its own tokens: $ATP_TOKEN is not read, and a token flag is refused below.
    if (given.lab !== true) token = await agentTokenOf(given, { env: process.env, ...(rawIo.input === undefined ? {} : { stdin: rawIo.input }), warn: (line) => rawIo.err(`atp-host verify: ${line}\n`) });
  } catch (error) {
    if (!isAtpError(error)) throw error;
    rawIo.err(`atp-host verify: ${error.code}: ${error.message}\n`);
    return 2;
  }
  const flags: VerifyFlags = given.lab === true ? given : { ...given, token };
  return verifyWithToken(files, flags, redactingIo(rawIo, [token]), onProcess);
}

async function verifyWithToken(files: string[], flags: VerifyFlags, io: CliIo, onProcess: boolean): Promise<number> {
  const isTty = (stream: NodeJS.WriteStream): boolean => onProcess && stream.isTTY === true;
  const v2 = await platformSuiteIn(files, io);
  if (typeof v2 === 'number') return v2;
  if (v2 !== undefined) {
    const pacing: PacingFlags = {};
    if (flags.rate !== undefined) pacing.rate = Number(flags.rate);
    if (flags.closedLoop !== undefined) pacing.closedLoop = flags.closedLoop === true ? true : Number(flags.closedLoop);
    pacing.calibration = new CalibrationStore(configDir(flags.configDir === undefined ? {} : { configDir: flags.configDir }));
    let injector: Partial<InjectorChoice>;
    try {
      injector = await parseInjectorFlags(flags);
    } catch (error) {
      if (!isAtpError(error)) throw error;
      io.err(`atp-host verify: ${error.message}\n`);
      return error.code === 'ATP_SCHEMA_INVALID' || error.code === 'ATP_DISPLAY_URL' || error.code === 'ATP_DISPLAY_CREDENTIALS' ? 2 : 3;
    }
    return verifyPlatformSuite(v2, { ...flags }, io, pacing, injector);
  }
  let prepared: Prepared;
  try {
    prepared = await prepare(files, flags);
  } catch (error) {
    if (!isAtpError(error)) throw error;
    io.err(`atp-host verify: ${error.message}\n`);
    return 2;
  }
  const connections = new HostConnections(flags.configDir === undefined ? {} : { configDir: flags.configDir });
  let targets: TargetOpener[];
  try {
    targets = await openers(flags, prepared.fleet, connections, io, labDisplayFor(prepared));
  } catch (error) {
    await connections.close();
    if (!isAtpError(error)) throw error;
    io.err(`atp-host verify: ${error.code}: ${error.message}\n`);
    return error.code === 'ATP_SCHEMA_INVALID' || error.code === 'ATP_RUN_NO_TARGETS' || error.code.startsWith('ATP_CONFIG_') ? 2 : 3;
  }
  if (targets.length > 1) io.err(`verify: ${targets.length} VMs, ${prepared.fleet.concurrency ?? Math.min(targets.length, 4)} at a time: ${targets.map((t) => t.label).join(', ')}\n`);

  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    io.err(`\natp-host verify: ${signal}: stopping\n`);
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = isTty(process.stderr);
  const many = targets.length > 1;
  const progress = new FleetProgress();
  const ticker = tty ? setInterval(() => io.err(`\r${formatFleetLine(progress, { width: (process.stderr.columns || 80) - 1, now: Date.now() })}\u001b[K`), 250) : undefined;
  const hub = await AgentHub.create({ auth: { tokens: [flags.token ?? randomBytes(16).toString('hex')] } });
  let result: RunResult;
  try {
    const run = runFleet({
      suites: prepared.suites,
      targets,
      hub,
      connections,
      ...(prepared.fleet.concurrency === undefined ? {} : { concurrency: prepared.fleet.concurrency }),
      ...(prepared.fleet.rounds === undefined ? {} : { rounds: prepared.fleet.rounds }),
      ...(prepared.fleet.durationMs === undefined ? {} : { durationMs: prepared.fleet.durationMs }),
      onFailure: prepared.fleet.onFailure,
      signal: abort.signal,
      pacing: prepared.pacing,
      injector: prepared.injector,
      version: HOST_VERSION,
      log: (line) => (tty ? undefined : io.err(`verify: ${line}\n`)),
    });
    const onEvent = (event: RunEvent): void => {
      progress.apply(event);
      if (event.type === 'target-finished' && event.error !== undefined) {
        io.err(`${tty ? '\r\u001b[K' : ''}atp-host verify: ${event.target}: ${event.error.code}: ${event.error.message}\n`);
        return;
      }
      if (!tty && many) {
        const line = formatFleetEvent(event);
        if (line !== undefined) io.err(`${line}\n`);
      }
    };
    for (;;) {
      const next = await run.next();
      if (next.done === true) {
        result = next.value;
        break;
      }
      onEvent(next.value);
    }
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    if (tty) io.err('\r\u001b[K');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await hub.close().catch(() => undefined);
    await connections.close();
  }
  const { report } = result;
  for (const spec of prepared.reports) {
    if (spec.kind === 'json') await writeJsonReport(report, spec.file);
    else if (spec.kind === 'html') await writeHtmlReport(report, spec.file, { stepLabels: result.stepLabels });
    else await writeJunitReport(report, spec.file, { stepLabels: result.stepLabels });
  }
  if (flags.json === true) io.out(toJsonReport(report));
  else io.out(formatSummary(report, { color: isTty(process.stdout) && (process.env.NO_COLOR ?? '') === '' }));
  return result.exitCode;
}
