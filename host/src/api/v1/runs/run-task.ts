/**
 * One run's life on the server, in the background: its own agent hub (as
 * `atp-host verify` has: lab VMs bind their own tokens to it, libvirt and
 * platform VMs present the request's token), the run engine's events stored
 * (run store) and then published (the live event log: a client that sees an
 * event can already fetch it), per-VM progress kept, and the end stored with
 * the report, the fleet summary and the progress in one write.
 *
 * Final status: passed / failed / error from the engine's exit code (0, 1,
 * 3); cancelled when the API cancelled it; interrupted when the server
 * stopped it; error with the cause when the run could not go on (the hub did
 * not start, the engine threw). A failing history write is logged and the run
 * goes on: the run matters more than its record.
 */
import { randomBytes } from 'node:crypto';
import { isAtpError, type ApiRunRequest, type RunEvent, type RunStatus } from '@atp/protocol';
import type { RunStore } from '../../../history/index.js';
import { AgentHub } from '../../../hub/index.js';
import { FleetProgress } from '../../../report/index.js';
import { runFleet, type RunResult, type RunSuiteSpec } from '../../../run/index.js';
import type { HostConnections, TargetOpener } from '../../../targets/index.js';
import type { EventLog } from '../event-log.js';
import type { CalibrationLookup } from '../../../scenario/index.js';
import { pacingOf } from './suites.js';
import { vmProgressOf } from './progress.js';

export interface PreparedRun {
  id: string;
  request: ApiRunRequest;
  suites: RunSuiteSpec[];
  openers: TargetOpener[];
  connections: HostConnections;
}

export interface RunTaskDeps {
  store: RunStore;
  events: EventLog;
  log: (line: string) => void;
  version: string;
  /** Where suites' `rate: calibrated` is looked up (the server's calibrations.json). */
  calibration?: CalibrationLookup;
}

type StopReason = 'cancelled' | 'interrupted';

const STATUS_OF_EXIT: Readonly<Record<number, RunStatus>> = { 0: 'passed', 1: 'failed', 3: 'error' };

const errorBody = (error: unknown): { code: string; message: string } =>
  isAtpError(error) ? { code: error.code, message: error.message } : { code: 'ATP_RUN_TARGET', message: error instanceof Error ? error.message : String(error) };

export class RunTask {
  status: RunStatus = 'queued';
  readonly progress = new FleetProgress();
  private readonly abort = new AbortController();
  private stopReason: StopReason | undefined;
  private historyFailed = false;

  constructor(
    readonly prepared: PreparedRun,
    private readonly deps: RunTaskDeps,
  ) {}

  get id(): string {
    return this.prepared.id;
  }

  /** Asks the run to stop; the engine closes the targets and the partial report is stored. */
  stop(reason: StopReason): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    if (this.status === 'running') this.setStatus('cancelling');
    this.abort.abort();
  }

  /** Ends a run that never started (cancelled while queued, or the server stopping). */
  async discard(reason: StopReason): Promise<void> {
    this.stopReason = reason;
    await this.prepared.connections.close().catch(() => undefined);
    this.end({ status: reason, finishedAt: Date.now() });
  }

  /** Runs to the end; never rejects (failures become the run's status). */
  async run(): Promise<void> {
    const { id, request } = this.prepared;
    this.setStatus('running', Date.now());
    let hub: AgentHub | undefined;
    try {
      hub = await AgentHub.create({ auth: { tokens: [request.targets.token ?? randomBytes(16).toString('hex')] } });
      const result = await this.drive(hub);
      const status = this.stopReason ?? STATUS_OF_EXIT[result.exitCode] ?? 'error';
      const { report } = result;
      this.end({
        status,
        finishedAt: Date.parse(report.finishedAt),
        exitCode: result.exitCode,
        ...(report.fleet === undefined ? {} : { fleet: report.fleet }),
        report,
        stepLabels: result.stepLabels,
        progress: vmProgressOf(this.progress),
      });
    } catch (error) {
      this.deps.log(`run ${id}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      this.end({ status: this.stopReason ?? 'error', finishedAt: Date.now(), error: errorBody(error), progress: vmProgressOf(this.progress) });
    } finally {
      await hub?.close().catch(() => undefined);
      await this.prepared.connections.close().catch(() => undefined);
    }
  }

  private async drive(hub: AgentHub): Promise<RunResult> {
    const { id, request, suites, openers, connections } = this.prepared;
    const run = runFleet({
      runId: id,
      suites,
      targets: openers,
      hub,
      connections,
      ...(request.concurrency === undefined ? {} : { concurrency: request.concurrency }),
      ...(request.rounds === undefined ? {} : { rounds: request.rounds }),
      ...(request.durationMs === undefined ? {} : { durationMs: request.durationMs }),
      ...(request.onFailure === undefined ? {} : { onFailure: request.onFailure }),
      ...(request.injector === undefined ? {} : { injector: request.injector }),
      ...(request.layout === undefined ? {} : { layout: request.layout }),
      pacing: { ...pacingOf(request), ...(this.deps.calibration === undefined ? {} : { calibration: this.deps.calibration }) },
      signal: this.abort.signal,
      version: this.deps.version,
      log: (line) => this.deps.log(`run ${id}: ${line}`),
    });
    for (;;) {
      const next = await run.next();
      if (next.done === true) return next.value;
      this.onEvent(next.value);
    }
  }

  private onEvent(event: RunEvent): void {
    this.history(() => this.deps.store.appendEvent(this.id, event));
    this.progress.apply(event);
    this.deps.events.publish({ kind: 'run', runId: this.id, data: { ...event } });
  }

  private setStatus(status: RunStatus, startedAt?: number): void {
    this.status = status;
    this.history(() => this.deps.store.setStatus(this.id, status, startedAt));
    this.deps.events.publish({ kind: 'run', runId: this.id, data: { type: 'run-status', status } });
  }

  private end(end: Parameters<RunStore['finish']>[1]): void {
    this.status = end.status;
    this.history(() => this.deps.store.finish(this.id, end));
    this.deps.events.publish({ kind: 'run', runId: this.id, data: { type: 'run-status', status: end.status, ...(end.error === undefined ? {} : { error: end.error }) } });
  }

  /** A history write that fails is logged (once per run in detail) and the run goes on. */
  private history(write: () => void): void {
    try {
      write();
    } catch (error) {
      if (!this.historyFailed) this.deps.log(`run ${this.id}: the run history could not be written: ${error instanceof Error ? error.message : String(error)}`);
      this.historyFailed = true;
    }
  }
}
