/**
 * `atp-host verify <suite...>`: runs suites against a VM and reports.
 *
 *  - `--lab`: boots the lab VM with the agent, runs, and always stops it
 *    (finally, and on SIGINT/SIGTERM);
 *  - `--qmp SOCKET --agent virtio:SOCKET|tcp:PORT|ws:PORT --token T`: a VM that
 *    is already running, observed by an agent that connects with the token.
 *  - `--vm NAME[@HOST] --token T`: a running libvirt domain (verify-libvirt.ts):
 *    the hub connects to its org.atp.agent.0 channel, input goes through
 *    qemu-monitor-command, the clock through qemu-agent-command.
 *  - `--vms GLOB[@HOST] --token T`: every running domain whose name matches
 *    (shut-off ones are skipped and named), one VM at a time, each suite's
 *    report naming its VM; the exit code is the worst over all of them.
 * Every suite is loaded and planned before anything boots, so a bad suite fails
 * fast with its file:line:column. Output: a live progress line on a TTY
 * (stderr), a summary (coloured on a TTY unless NO_COLOR), `--json` prints the
 * ReportV1 instead, `--report json:FILE,junit:FILE` writes files.
 * Exit codes: 0 all passed, 1 a suite failed verification, 2 usage or suite
 * error, 3 infrastructure error (a suite ended with verdict 'error', QEMU, the
 * agent, the lab).
 */
import type { Command } from 'commander';
import { AtpError, isAtpError, type ClockEstimate, type SuiteReport } from '@atp/protocol';
import { AgentHub } from '../hub/index.js';
import { QmpInjector } from '../inject/index.js';
import { buildReport, formatProgress, formatSummary, toJsonReport, writeJsonReport, writeJunitReport } from '../report/index.js';
import { attachAgentEndpoint, loadSuite, parseAgentEndpoint, planSuite, resolvePacing, runSuite, stepLabels, waitForAgentSession, type LoadedSuite, type PacingFlags, type SuitePlan, type SuiteTarget } from '../scenario/index.js';
import { QmpClient, type QmpExecutor } from '../vm/qmp/index.js';
import type { CliIo } from './program.js';
import type { InputRoute } from '../lab/index.js';
import { startLabTarget } from './verify-lab.js';
import { startLibvirtTarget } from './verify-libvirt.js';
import { resolveVms } from './vm-target.js';
import { HOST_VERSION, labAgentOptions, labInputOptions, parseReportSpecs, verifyUsage, vmFlagProblem, type ReportSpec } from './verify-options.js';

export const EXIT_FAILED = 1;

interface VerifyFlags {
  lab?: boolean;
  stateDir?: string;
  cacheDir?: string;
  labAgent?: string;
  agentBinary?: string;
  labInput?: string;
  labKeyboard?: string;
  qmp?: string;
  vm?: string;
  vms?: string;
  configDir?: string;
  agent?: string;
  token?: string;
  agentId?: string;
  layout?: string;
  rate?: string;
  closedLoop?: boolean | string;
  report?: string[];
  json?: boolean;
  timeout?: string;
}

interface Target {
  hub: AgentHub;
  qmp: QmpExecutor;
  agentId: string;
  vm: string;
  clock?: () => Promise<ClockEstimate>;
  /** input-send-event's device/head for every call (the lab's chosen keyboard). */
  route?: InputRoute;
  inputDevice?: string;
}

interface Prepared {
  suites: { loaded: LoadedSuite; plan: SuitePlan }[];
  pacing: PacingFlags;
  reports: ReportSpec[];
}

/** Everything that can be wrong with the command line or the suites, before anything starts. */
async function prepare(files: string[], flags: VerifyFlags): Promise<Prepared> {
  if (files.length === 0) throw verifyUsage('no suite file given (atp-host verify [options] <suite.yaml...>)');
  const vmProblem = vmFlagProblem(flags);
  if (vmProblem !== undefined) throw verifyUsage(vmProblem);
  labAgentOptions(flags);
  labInputOptions(flags);
  if (flags.vm === undefined && flags.vms === undefined && (flags.lab === true) === (flags.qmp !== undefined)) throw verifyUsage('give either --lab, --vm NAME[@HOST] or --vms GLOB[@HOST] with --token, or --qmp SOCKET with --agent and --token');
  if (flags.qmp !== undefined && (flags.agent === undefined || flags.token === undefined)) throw verifyUsage('--qmp needs --agent virtio:SOCKET|tcp:PORT|ws:PORT and --token T');
  if (flags.lab === true && (flags.agent !== undefined || flags.token !== undefined)) throw verifyUsage('--lab sets up its own agent link and token: drop --agent/--token');
  if (flags.agent !== undefined) parseAgentEndpoint(flags.agent);
  const pacing: PacingFlags = {};
  if (flags.rate !== undefined) pacing.rate = Number(flags.rate);
  if (flags.closedLoop !== undefined) pacing.closedLoop = flags.closedLoop === true ? true : Number(flags.closedLoop);
  const reports = parseReportSpecs(flags.report ?? []);
  const suites = [];
  for (const file of files) {
    const loaded = await loadSuite(file);
    if (flags.layout !== undefined) loaded.scenario.target.layout = flags.layout;
    resolvePacing(loaded.scenario.defaults, pacing);
    suites.push({ loaded, plan: planSuite(loaded.scenario) });
  }
  return { suites, pacing, reports };
}

async function openTarget(flags: VerifyFlags, io: CliIo, signal: AbortSignal, onClose: (close: () => Promise<void>) => void): Promise<Target> {
  const timeoutMs = flags.timeout === undefined ? 120_000 : Number(flags.timeout) * 1000;
  if (flags.lab === true) {
    const t = await startLabTarget({
      ...(flags.stateDir === undefined ? {} : { stateDir: flags.stateDir }),
      ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
      ...labAgentOptions(flags),
      ...labInputOptions(flags),
      log: (line) => io.err(`lab: ${line}\n`),
      killOnExit: true,
      onClose,
    });
    return { hub: t.hub, qmp: t.qmp, agentId: t.agentId, vm: 'lab', clock: t.clock, route: t.route, inputDevice: `${t.keyboard} keyboard` };
  }
  if (flags.vm !== undefined) {
    const t = await startLibvirtTarget({ vm: flags.vm, token: flags.token ?? '', ...(flags.agentId === undefined ? {} : { agentId: flags.agentId }), location: flags.configDir === undefined ? {} : { configDir: flags.configDir }, timeoutMs, signal, log: (line) => io.err(`verify: ${line}\n`), onClose });
    return { hub: t.hub, qmp: t.qmp, agentId: t.agentId, vm: t.vm, clock: t.clock };
  }
  const hub = await AgentHub.create({ auth: { tokens: [flags.token ?? ''] } });
  onClose(() => hub.close());
  const where = await attachAgentEndpoint(hub, parseAgentEndpoint(flags.agent ?? ''));
  io.err(`verify: waiting for the agent on ${where}\n`);
  const qmp = await QmpClient.connect({ path: flags.qmp ?? '' }, { connectTimeoutMs: 10_000 }).catch(async (error: unknown) => {
    await hub.close();
    throw error;
  });
  const close = async (): Promise<void> => {
    await qmp.close().catch(() => undefined);
    await hub.close();
  };
  onClose(close);
  const agentId = await waitForAgentSession(hub, { ...(flags.agentId === undefined ? {} : { agentId: flags.agentId }), timeoutMs, signal });
  return { hub, qmp, agentId, vm: flags.qmp ?? 'vm' };
}

export interface VerifyHooks {
  setExitCode: (code: number) => void;
  /** True when `io` writes to this process's stdout/stderr (TTY checks, signal handlers apply). */
  processIo: boolean;
}

async function verify(files: string[], flags: VerifyFlags, io: CliIo, onProcess: boolean): Promise<number> {
  const isTty = (stream: NodeJS.WriteStream): boolean => onProcess && stream.isTTY === true;
  let prepared: Prepared;
  try {
    prepared = await prepare(files, flags);
  } catch (error) {
    if (!isAtpError(error)) throw error;
    io.err(`atp-host verify: ${error.message}\n`);
    return 2;
  }
  // --vms: the matching running domains, resolved before anything starts (none matching is a usage error).
  let vmSpecs: (string | undefined)[] = [flags.vm];
  if (flags.vms !== undefined) {
    try {
      const resolved = await resolveVms(flags.vms, flags.configDir === undefined ? {} : { configDir: flags.configDir });
      for (const s of resolved.skipped) io.err(`verify: skipped ${s.name}: ${s.state}, not running\n`);
      io.err(`verify: ${resolved.specs.length} VM(s), one at a time: ${resolved.specs.join(', ')}\n`);
      vmSpecs = resolved.specs;
    } catch (error) {
      if (!isAtpError(error)) throw error;
      io.err(`atp-host verify: ${error.code}: ${error.message}\n`);
      return error.code === 'ATP_SCHEMA_INVALID' || error.code.startsWith('ATP_CONFIG_') ? 2 : 3;
    }
  }
  const startedAt = new Date();
  const abort = new AbortController();
  let closeTarget: (() => Promise<void>) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    io.err(`\natp-host verify: ${signal}: stopping\n`);
    abort.abort();
    void closeTarget?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progressTty = isTty(process.stderr);
  const reports: SuiteReport[] = [];
  const labels: ReturnType<typeof stepLabels>[] = [];
  let infraError = false;
  try {
    for (const vm of vmSpecs) {
      if (abort.signal.aborted) break;
      try {
        const target = await openTarget(vm === undefined ? flags : { ...flags, vm }, io, abort.signal, (c) => (closeTarget = c));
        for (const [i, { loaded, plan }] of prepared.suites.entries()) {
          if (abort.signal.aborted) break;
          const injector = new QmpInjector({ executor: target.qmp, screen: loaded.scenario.target.screen, ...target.route });
          const suiteTarget: SuiteTarget = {
            injector,
            hub: target.hub,
            agentId: target.agentId,
            qmp: target.qmp,
            vm: target.vm,
            ...(target.clock === undefined ? {} : { clock: target.clock }),
            ...(target.inputDevice === undefined ? {} : { inputDevice: target.inputDevice }),
          };
          const run = await runSuite(loaded, suiteTarget, {
            plan,
            pacing: prepared.pacing,
            suiteIndex: i + 1,
            suiteCount: prepared.suites.length,
            signal: abort.signal,
            ...(progressTty ? { onProgress: (s) => io.err(`\r${formatProgress(s, { width: (process.stderr.columns || 80) - 1 })}\u001b[K`) } : {}),
          });
          if (progressTty) io.err('\r\u001b[K');
          await injector.close();
          reports.push(run.report);
          labels.push(stepLabels(loaded.scenario));
        }
      } catch (error) {
        if (progressTty) io.err('\r\u001b[K');
        const e = isAtpError(error) ? error : new AtpError('ATP_LAB_BOOT', String(error), { cause: error });
        io.err(`atp-host verify: ${vm === undefined ? '' : `${vm}: `}${e.code}: ${e.message}\n`);
        infraError = true;
      } finally {
        // Always: the lab VM goes down even when a suite or the boot failed; the next --vms VM gets its own.
        const close = closeTarget;
        closeTarget = undefined;
        await close?.().catch((error: unknown) => {
          io.err(`atp-host verify: cleanup failed: ${error instanceof Error ? error.message : String(error)}\n`);
          infraError = true;
        });
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (reports.length === 0) return 3;
  const report = buildReport(reports, { startedAt, finishedAt: new Date(), version: HOST_VERSION });
  for (const spec of prepared.reports) {
    if (spec.kind === 'json') await writeJsonReport(report, spec.file);
    else await writeJunitReport(report, spec.file, { stepLabels: labels });
  }
  if (flags.json === true) io.out(toJsonReport(report));
  else io.out(formatSummary(report, { color: isTty(process.stdout) && (process.env.NO_COLOR ?? '') === '' }));
  if (infraError || abort.signal.aborted || reports.length < prepared.suites.length * vmSpecs.length || reports.some((r) => r.verdict === 'error')) return 3;
  return reports.some((r) => r.verdict !== 'pass') ? EXIT_FAILED : 0;
}

export function registerVerifyCommand(program: Command, io: CliIo, hooks: VerifyHooks): void {
  program
    .command('verify')
    .description('run suites against a VM: inject their input, check what the guest observed, report')
    .argument('[suite...]', 'suite files (YAML)')
    .option('--lab', 'boot the lab VM with the guest agent, run, and stop it')
    .option('--state-dir <dir>', 'with --lab: state dir of the VM (default: a temp dir)')
    .option('--cache-dir <dir>', 'with --lab: downloads and built images (env ATP_LAB_CACHE)')
    .option('--lab-agent <path>', 'with --lab: the guest agent to bundle (default guest-agent/src/main.ts)')
    .option('--agent-binary <file>', 'with --lab: a prebuilt single-file agent (atp-host agent build --target linux-x64) instead of node + bundle')
    .option('--lab-input <profile>', 'with --lab: the guest\'s input devices, minimal (PS/2 keyboard and mouse, USB tablet) or desktop (also USB keyboard, virtio keyboard, mouse and tablet)')
    .option('--lab-keyboard <kbd>', 'with --lab: the keyboard QMP input goes to: ps2 (default), virtio or usb (the last two need --lab-input desktop)')
    .option('--vm <name[@host]>', 'a running libvirt domain (HOST from hosts.yaml; default this machine), with --token')
    .option('--vms <glob[@host]>', 'every running libvirt domain whose name matches (*, ?, [abc]), with --token; one VM at a time; shut-off ones are skipped (and named)')
    .option('--config-dir <dir>', 'with --vm/--vms: config directory holding hosts.yaml')
    .option('--qmp <socket>', "the VM's QMP unix socket")
    .option('--agent <endpoint>', 'where the agent reaches the hub: virtio:SOCKET, tcp:PORT or ws:PORT')
    .option('--token <token>', 'the token the agent presents')
    .option('--agent-id <id>', 'the agent to observe with (default: the first that connects)')
    .option('--timeout <seconds>', 'how long to wait for the agent (default 120)')
    .option('--layout <name>', "the guest's keyboard layout for text (overrides the suites')")
    .option('--rate <keys/s>', 'open-loop pacing at this many keystrokes per second')
    .option('--closed-loop [maxInFlight]', 'closed-loop pacing: wait for the agent to see keys (default 8 in flight)')
    .option('--report <specs...>', 'write reports: json:FILE, junit:FILE (comma-separated or repeated)')
    .option('--json', 'print the JSON report to stdout instead of the summary')
    .action(async (files: string[], flags: VerifyFlags) => {
      // `--closed-loop suite.yaml`: commander took the suite as the optional window.
      if (typeof flags.closedLoop === 'string' && !/^\d+$/.test(flags.closedLoop)) {
        files.unshift(flags.closedLoop);
        flags.closedLoop = true;
      }
      hooks.setExitCode(await verify(files, flags, io, hooks.processIo));
    });
}
