/**
 * `atp-host verify <suite...>`: runs suites against VMs and reports, through
 * the run engine (host/src/run/). This file only parses flags, builds the
 * target openers, prints progress and writes the reports.
 *
 *  - `--lab [--count N]`: boots N lab VMs (lab, or lab-01…lab-NN) with the
 *    agent, runs, and always stops them (finally, and on SIGINT/SIGTERM);
 *  - `--qmp SOCKET --agent virtio:SOCKET|tcp:PORT|ws:PORT --token T`: a VM that
 *    is already running, observed by an agent that connects with the token;
 *  - `--vm NAME[@HOST] --token T`: a running libvirt domain (targets/libvirt-target.ts);
 *  - `--vms SELECTOR[@HOST] --token T [--exclude SELECTOR] [--limit N]`: every
 *    running domain the selector (glob, `re:REGEX`, comma list) matches;
 *    shut-off ones are skipped and named;
 *  - a version 2 suite (platform steps; verify-platform-suite.ts) names its own
 *    platform and pool: `atp-host verify pool.yaml --token T`;
 *  - `--platform NAME [--pool POOL] [--vms SELECTOR] --token T`: the running
 *    VMs of an OCloudView platform (platforms.yaml), of one desk pool or all,
 *    each placed on its hypervisor and opened as a libvirt target
 *    (targets/platform.ts).
 * Fleet flags: --concurrent N VMs at once, --loop N rounds or --duration 30m,
 * --on-failure continue|stop-all|fail-fast (run/engine.ts says what each does).
 * Every suite is loaded and planned before anything boots, so a bad suite fails
 * fast with its file:line:column. Output: a live fleet line on a TTY (stderr),
 * one line per VM event when stderr is not a TTY and there are several VMs, a
 * summary (coloured on a TTY unless NO_COLOR); `--json` prints the ReportV1
 * instead, `--report json:FILE,junit:FILE,html:FILE` writes files.
 * Exit codes (run/outcome.ts): 0 every VM passed, 1 a VM failed verification
 * or had an infrastructure error while others were verified, 2 usage or suite
 * error, 3 nothing could be verified (infrastructure) or a signal stopped the run.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { isAtpError, type RunEvent } from '@atp/protocol';
import { AgentHub } from '../hub/index.js';
import { formatFleetEvent, formatFleetLine, formatSummary, FleetProgress, toJsonReport, writeJsonReport, writeJunitReport } from '../report/index.js';
import { writeHtmlReport } from '../report/html-write.js';
import { runFleet, type RunResult, type RunSuiteSpec } from '../run/index.js';
import { loadAnySuite, loadSuite, parseAgentEndpoint, planSuite, resolvePacing, type LoadedAnySuite, type LoadedSuiteV2, type PacingFlags } from '../scenario/index.js';
import type { LabDisplayOptions } from '../lab/index.js';
import { HostConnections, type InjectorChoice, type TargetOpener } from '../targets/index.js';
import type { CliIo } from './program.js';
import { parseFleetFlags, type FleetFlags, type FleetSettings } from './verify-fleet-options.js';
import { addInjectorOptions, parseInjectorFlags, type InjectorFlags } from './injector-flags.js';
import { verifyPlatformSuite } from './verify-platform-suite.js';
import { openers, type TargetFlags } from './verify-targets.js';
import { HOST_VERSION, labAgentOptions, labInputOptions, parseReportSpecs, verifyUsage, vmFlagProblem, type ReportSpec } from './verify-options.js';

export const EXIT_FAILED = 1;

interface VerifyFlags extends FleetFlags, TargetFlags, InjectorFlags {
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
  if (flags.lab === true && (flags.agent !== undefined || flags.token !== undefined)) throw verifyUsage('--lab sets up its own agent link and token: drop --agent/--token');
  if (flags.agent !== undefined) parseAgentEndpoint(flags.agent);
  const fleet = parseFleetFlags(flags);
  if (fleet.count !== undefined && flags.lab !== true) throw verifyUsage('--count boots that many lab VMs: it needs --lab');
  if ((fleet.exclude !== undefined || fleet.limit !== undefined) && flags.vms === undefined && flags.platform === undefined) throw verifyUsage('--exclude and --limit narrow --vms SELECTOR[@HOST] or --platform');
  if (fleet.count !== undefined && fleet.count > 1 && flags.stateDir !== undefined) throw verifyUsage('--state-dir names one lab VM: drop it with --count');
  if (fleet.rounds !== undefined && fleet.durationMs !== undefined) throw verifyUsage('give either --loop N or --duration, not both');
  const pacing: PacingFlags = {};
  if (flags.rate !== undefined) pacing.rate = Number(flags.rate);
  if (flags.closedLoop !== undefined) pacing.closedLoop = flags.closedLoop === true ? true : Number(flags.closedLoop);
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

export interface VerifyHooks {
  setExitCode: (code: number) => void;
  /** True when `io` writes to this process's stdout/stderr (TTY checks, signal handlers apply). */
  processIo: boolean;
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

async function verify(files: string[], flags: VerifyFlags, io: CliIo, onProcess: boolean): Promise<number> {
  const isTty = (stream: NodeJS.WriteStream): boolean => onProcess && stream.isTTY === true;
  const v2 = await platformSuiteIn(files, io);
  if (typeof v2 === 'number') return v2;
  if (v2 !== undefined) {
    const pacing: PacingFlags = {};
    if (flags.rate !== undefined) pacing.rate = Number(flags.rate);
    if (flags.closedLoop !== undefined) pacing.closedLoop = flags.closedLoop === true ? true : Number(flags.closedLoop);
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

export function registerVerifyCommand(program: Command, io: CliIo, hooks: VerifyHooks): void {
  const command = program
    .command('verify')
    .description('run suites against VMs: inject their input, check what each guest observed, report')
    .argument('[suite...]', 'suite files (YAML)')
    .option('--lab', 'boot the lab VM with the guest agent, run, and stop it')
    .option('--count <n>', 'with --lab: boot this many lab VMs (lab-01 …), each with its own UUID, token and sockets')
    .option('--boot-concurrency <n>', 'with --lab --count: lab VMs booting at once (default: the CPU count, at least 2)')
    .option('--state-dir <dir>', 'with --lab (one VM): state dir of the VM (default: a temp dir)')
    .option('--cache-dir <dir>', 'with --lab: downloads and built images (env ATP_LAB_CACHE)')
    .option('--lab-agent <path>', 'with --lab: the guest agent to bundle (default guest-agent/src/main.ts)')
    .option('--agent-binary <file>', 'with --lab: a prebuilt single-file agent (atp-host agent build --target linux-x64) instead of node + bundle')
    .option('--lab-input <profile>', "with --lab: the guest's input devices, minimal (PS/2 keyboard and mouse, USB tablet) or desktop (also USB keyboard, virtio keyboard, mouse and tablet)")
    .option('--lab-keyboard <kbd>', 'with --lab: the keyboard QMP input goes to: ps2 (default), virtio or usb (the last two need --lab-input desktop)')
    .option('--lab-memory <MiB>', 'with --lab: guest RAM per lab VM')
    .option('--vm <name[@host]>', 'a running libvirt domain (HOST from hosts.yaml; default this machine), with --token')
    .option('--vms <selector[@host]>', 'every running libvirt domain the selector matches: a glob (*, ?, [abc]), re:REGEX or a comma list; with --token; shut-off ones are skipped (and named)')
    .option('--platform <name>', 'the running VMs of an OCloudView platform (platforms.yaml), with --token; narrow with --pool and --vms')
    .option('--pool <pool>', 'with --platform: the VMs of this desk pool (name or id)')
    .option('--exclude <selector>', 'with --vms or --platform: leave out the VMs this selector matches')
    .option('--limit <n>', 'with --vms or --platform: at most this many VMs (in the listed order)')
    .option('--concurrent <n>', 'verify this many VMs at once (default: all, at most 4)')
    .option('--loop <n>', 'run the suites this many rounds on every VM')
    .option('--duration <time>', 'keep starting rounds until this much time has passed (90s, 30m, 2h); stops between rounds')
    .option('--on-failure <policy>', 'when a VM does not pass: continue (default), stop-all (finish running suites, start nothing new) or fail-fast (interrupt everything now)')
    .option('--config-dir <dir>', 'with --vm/--vms/--platform: config directory holding hosts.yaml and platforms.yaml')
    .option('--qmp <socket>', "the VM's QMP unix socket")
    .option('--agent <endpoint>', 'where the agent reaches the hub: virtio:SOCKET, tcp:PORT or ws:PORT')
    .option('--token <token>', 'the token the agent presents')
    .option('--agent-id <id>', 'with --qmp and a tcp/ws endpoint: the agent to observe with (default: the first that connects)')
    .option('--timeout <seconds>', 'how long to wait for the agent (default 120)')
    .option('--layout <name>', "the guest's keyboard layout for text (overrides the suites')")
    .option('--rate <keys/s>', 'open-loop pacing at this many keystrokes per second')
    .option('--closed-loop [maxInFlight]', 'closed-loop pacing: wait for the agent to see keys (default 8 in flight)')
    .option('--report <specs...>', 'write reports: json:FILE, junit:FILE, html:FILE (comma-separated or repeated)')
    .option('--json', 'print the JSON report to stdout instead of the summary');
  addInjectorOptions(command).action(async (files: string[], flags: VerifyFlags) => {
    // `--closed-loop suite.yaml`: commander took the suite as the optional window.
    if (typeof flags.closedLoop === 'string' && !/^\d+$/.test(flags.closedLoop)) {
      files.unshift(flags.closedLoop);
      flags.closedLoop = true;
    }
    hooks.setExitCode(await verify(files, flags, io, hooks.processIo));
  });
}
