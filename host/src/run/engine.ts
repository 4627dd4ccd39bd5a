/**
 * The run engine: suites × targets, at most `concurrency` VMs at once, for
 * `rounds` rounds or until `durationMs` has passed (checked between rounds),
 * under a failure policy, stoppable by an AbortSignal. It yields numbered run
 * events (protocol-schemas/src/run-events.ts) as things happen and returns the
 * report (one SuiteReport per VM, round and suite, the fleet summary, the
 * host's load) and the exit code.
 *
 * Failure policies, applied when a VM does not pass (failed or infra-error):
 *  - continue (default): the other VMs carry on;
 *  - stop-all: suites already running finish; nothing new starts (no further
 *    suite, round or VM), the rest is 'aborted' / 'not-run';
 *  - fail-fast: everything in flight is interrupted now (their suites end
 *    between two steps), the rest is 'aborted' / 'not-run'.
 * A suite that ends with verdict 'error' on its own (QEMU gone, agent lost)
 * ends that VM's run (infra-error); the others are not affected under
 * `continue`. Every target is closed (a lab VM stopped) whatever happens.
 */
import { randomUUID } from 'node:crypto';
import type { ReportV1, RunEvent, RunEventInput, RunFailurePolicy, SuiteReport } from '@atp/protocol';
import type { AgentHub } from '../hub/index.js';
import { buildFleetSummary, buildReport, suiteKeysAndDefects } from '../report/index.js';
import { runSuite, stepLabels, type LoadedSuite, type PacingFlags, type SuitePlan } from '../scenario/index.js';
import { openInjector, type HostConnections, type InjectorChoice, type Target, type TargetOpener } from '../targets/index.js';
import { EventQueue } from './event-queue.js';
import { HostLoadMonitor } from './host-load.js';
import { runExitCode, vmOutcome, type VmRecord } from './outcome.js';

export interface RunSuiteSpec {
  loaded: LoadedSuite;
  plan: SuitePlan;
}

export interface RunOptions {
  suites: readonly RunSuiteSpec[];
  targets: readonly TargetOpener[];
  /** The run's hub: every target's agent reports here. Owned by the caller. */
  hub: AgentHub;
  connections?: HostConnections;
  /** VMs verified at once (default: all of them, at most 4). */
  concurrency?: number;
  /** Rounds per VM (--loop; default 1, or unbounded with durationMs). */
  rounds?: number;
  /** No round starts after this long from the run's start (--duration). */
  durationMs?: number;
  onFailure?: RunFailurePolicy;
  /** Aborting stops the run as a signal would (SIGINT): injection stops, targets close, the partial report is returned. */
  signal?: AbortSignal;
  pacing?: PacingFlags;
  layout?: string;
  /** The injector for every suite (--injector, --mouse-mode, --display); default each suite's target.injector. */
  injector?: Partial<InjectorChoice>;
  runId?: string;
  version: string;
  log?: (line: string) => void;
}

export interface RunResult {
  report: ReportV1;
  exitCode: 0 | 1 | 3;
  /** Step labels per suite report, in report order (JUnit). */
  stepLabels: string[][];
}

type StopReason = 'signal' | 'stop-all' | 'fail-fast';

/** Runs the suites on the targets; iterate for the events, the generator's return value is the result. */
export async function* runFleet(options: RunOptions): AsyncGenerator<RunEvent, RunResult, void> {
  const runId = options.runId ?? randomUUID();
  const onFailure = options.onFailure ?? 'continue';
  const concurrency = Math.max(1, Math.min(options.concurrency ?? Math.min(options.targets.length, 4), Math.max(1, options.targets.length)));
  const rounds = options.rounds ?? (options.durationMs === undefined ? 1 : Number.POSITIVE_INFINITY);
  const startedAt = new Date();
  const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.durationMs;
  const log = options.log ?? (() => undefined);
  const queue = new EventQueue<RunEvent>();
  let seq = 0;
  const emit = (event: RunEventInput): void => queue.push({ ...event, seq: seq++, at: new Date().toISOString(), runId } as RunEvent);

  // One controller interrupts everything in flight: a signal from outside, or fail-fast.
  const interrupt = new AbortController();
  let stopped: { reason: StopReason; message: string } | undefined;
  let durationReached = false;
  /** Read through a call: the workers' awaits let another worker stop the run in between (no narrowing). */
  const stopNow = (): { reason: StopReason; message: string } | undefined => stopped;
  const stop = (reason: StopReason, message: string): void => {
    if (stopped !== undefined) return;
    stopped = { reason, message };
    log(`stopping: ${message}`);
    if (reason !== 'stop-all') interrupt.abort();
  };
  const onOuterAbort = (): void => stop('signal', 'interrupted (signal)');
  if (options.signal?.aborted === true) onOuterAbort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const load = new HostLoadMonitor();
  const suites: SuiteReport[] = [];
  const labels: string[][] = [];
  const records = new Map<string, VmRecord & { rounds: number; openMs?: number; error?: { code: string; message: string } }>();
  for (const t of options.targets) records.set(t.label, { opened: false, openFailed: false, verdicts: [], infraError: false, cutShort: false, rounds: 0 });

  emit({
    type: 'run-started',
    targets: options.targets.map((t) => t.label),
    suites: options.suites.map((s) => s.loaded.scenario.name),
    concurrency,
    ...(Number.isFinite(rounds) && rounds > 1 ? { rounds } : {}),
    ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
    onFailure,
  });

  const failed = (label: string, why: string): void => {
    if (onFailure === 'stop-all') stop('stop-all', `${label} did not pass (${why}): --on-failure stop-all`);
    if (onFailure === 'fail-fast') stop('fail-fast', `${label} did not pass (${why}): --on-failure fail-fast`);
  };

  const runTarget = async (opener: TargetOpener): Promise<void> => {
    const record = records.get(opener.label);
    if (record === undefined) return;
    if (stopNow() !== undefined) {
      emit({ type: 'target-finished', target: opener.label, outcome: 'not-run', rounds: 0 });
      return;
    }
    let target: Target | undefined;
    try {
      target = await opener.open({ hub: options.hub, signal: interrupt.signal, log: (line) => log(`${opener.label}: ${line}`), ...(options.connections === undefined ? {} : { connections: options.connections }) });
    } catch (error) {
      if (stopNow() !== undefined && stopNow()?.reason !== 'stop-all') {
        emit({ type: 'target-finished', target: opener.label, outcome: 'not-run', rounds: 0 });
        return;
      }
      record.openFailed = true;
      record.error = errorBody(error);
      emit({ type: 'target-finished', target: opener.label, outcome: 'infra-error', rounds: 0, error: record.error });
      failed(opener.label, record.error.code);
      return;
    }
    record.opened = true;
    record.openMs = target.openMs;
    emit({ type: 'target-opened', target: target.label, agentId: target.agentId, openMs: Math.round(target.openMs) });
    try {
      rounds: for (let round = 1; round <= rounds; round++) {
        if (round > 1 && Date.now() >= deadline) {
          durationReached = true;
          break;
        }
        for (const spec of options.suites) {
          if (stopNow() !== undefined) {
            record.cutShort = true;
            break rounds;
          }
          const verdict = await runOneSuite(target, spec, round).catch((error: unknown) => {
            record.infraError = true;
            record.error ??= errorBody(error);
            failed(opener.label, record.error.code);
            return 'error' as const;
          });
          if (verdict === 'error') break rounds;
        }
        record.rounds = round;
      }
    } finally {
      await target.close().catch((error: unknown) => log(`${opener.label}: closing failed: ${errorBody(error).message}`));
    }
    const outcome = vmOutcome(record);
    emit({ type: 'target-finished', target: opener.label, outcome, rounds: record.rounds, ...(record.error === undefined ? {} : { error: record.error }) });
  };

  const injectorChoice = (spec: RunSuiteSpec): InjectorChoice => {
    const t = spec.loaded.scenario.target;
    const mouseMode = options.injector?.mouseMode ?? t.mouseMode;
    return {
      kind: options.injector?.kind ?? t.injector,
      ...(mouseMode === undefined ? {} : { mouseMode }),
      ...(options.injector?.endpoint === undefined ? {} : { endpoint: options.injector.endpoint }),
    };
  };

  const runOneSuite = async (target: Target, spec: RunSuiteSpec, round: number): Promise<'pass' | 'fail' | 'error'> => {
    const record = records.get(target.label);
    const name = spec.loaded.scenario.name;
    const labelsOf = stepLabels(spec.loaded.scenario);
    const injector = await openInjector(target, spec.loaded.scenario.target.screen, injectorChoice(spec));
    // The target's input device is where QMP input is routed; SPICE and VNC input goes where QEMU sends it.
    const inputDevice = injector.name === 'qmp' ? target.inputDevice : undefined;
    let report: SuiteReport;
    try {
      const run = await runSuite(
        spec.loaded,
        { injector, hub: target.hub, agentId: target.agentId, qmp: target.qmp, vm: target.label, ...(target.clock === undefined ? {} : { clock: target.clock }), ...(inputDevice === undefined ? {} : { inputDevice }) },
        {
          plan: spec.plan,
          ...(options.pacing === undefined ? {} : { pacing: options.pacing }),
          ...(options.layout === undefined ? {} : { layout: options.layout }),
          signal: interrupt.signal,
          onStep: (step, phase) =>
            emit(phase === 'started' ? { type: 'step-started', target: target.label, round, suite: name, step, label: labelsOf[step] ?? `step ${step}` } : { type: 'step-finished', target: target.label, round, suite: name, step }),
        },
      );
      report = rounds > 1 || options.durationMs !== undefined ? { ...run.report, round } : run.report;
    } finally {
      await injector.close().catch(() => undefined);
    }
    suites.push(report);
    labels.push(labelsOf);
    for (const finding of report.findings) emit({ type: 'finding', target: target.label, round, suite: name, finding });
    const { keys, defects } = suiteKeysAndDefects(report);
    emit({
      type: 'suite-finished',
      target: target.label,
      round,
      suite: name,
      verdict: report.verdict,
      keys,
      defects,
      ...(report.latency === undefined ? {} : { p99Ms: report.latency.p99Ms }),
      durationMs: Math.round(report.durationMs),
      ...(report.error === undefined ? {} : { error: report.error }),
    });
    if (record !== undefined) {
      // An error caused by the run stopping is the stop's doing, not the VM's.
      const stoppedUnder = report.verdict === 'error' && stopNow() !== undefined && stopNow()?.reason !== 'stop-all';
      if (stoppedUnder) record.cutShort = true;
      else {
        record.verdicts.push(report.verdict);
        if (report.verdict === 'error') {
          record.infraError = true;
          record.error ??= report.error ?? { code: 'ATP_RUN_TARGET', message: 'the suite ended with an error' };
        }
        if (report.verdict !== 'pass') failed(target.label, report.verdict === 'error' ? (report.error?.code ?? 'error') : 'defects');
      }
    }
    return report.verdict;
  };

  // Workers take the next target until none is left; the generator yields events as they come.
  const pending = [...options.targets];
  const worker = async (): Promise<void> => {
    for (let next = pending.shift(); next !== undefined; next = pending.shift()) await runTarget(next);
  };
  const done = Promise.all(Array.from({ length: concurrency }, () => worker())).finally(() => queue.close());
  yield* queue.drain();
  await done;
  options.signal?.removeEventListener('abort', onOuterAbort);

  const finishedAt = new Date();
  const host = load.stop();
  const targets = options.targets.map((t) => {
    const r = records.get(t.label);
    const outcome = r === undefined ? 'not-run' : vmOutcome(r);
    return { vm: t.label, outcome, rounds: r?.rounds ?? 0, ...(r?.openMs === undefined ? {} : { openMs: Math.round(r.openMs) }), ...(r?.error === undefined ? {} : { error: r.error }) };
  });
  const stopInfo = stopped ?? (durationReached ? { reason: 'duration' as const, message: `--duration ${Math.round((options.durationMs ?? 0) / 1000)} s reached` } : undefined);
  const fleet = buildFleetSummary({
    targets,
    suites,
    concurrency,
    ...(Number.isFinite(rounds) && rounds > 1 ? { rounds } : {}),
    ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
    onFailure,
    ...(stopInfo === undefined ? {} : { stopped: stopInfo }),
    wallMs: finishedAt.getTime() - startedAt.getTime(),
  });
  const exitCode = runExitCode(
    targets.map((t) => t.outcome),
    stopped?.reason === 'signal',
  );
  const event: RunEventInput = { type: 'run-finished', exitCode, fleet };
  yield { ...event, seq: seq++, at: finishedAt.toISOString(), runId } as RunEvent;
  const report = buildReport(suites, { startedAt, finishedAt, version: options.version, fleet, host });
  return { report, exitCode, stepLabels: labels };
}

function errorBody(error: unknown): { code: string; message: string } {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && error.code.startsWith('ATP_')) {
    return { code: error.code, message: error instanceof Error ? error.message : String(error) };
  }
  return { code: 'ATP_RUN_TARGET', message: error instanceof Error ? error.message : String(error) };
}

/** Runs to the end, handing every event to `onEvent`; resolves with the result. */
export async function runToEnd(options: RunOptions, onEvent: (event: RunEvent) => void = () => undefined): Promise<RunResult> {
  const it = runFleet(options);
  for (;;) {
    const next = await it.next();
    if (next.done === true) return next.value;
    onEvent(next.value);
  }
}
