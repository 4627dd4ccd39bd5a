/**
 * The RunManager: runs as a service. `start` validates and plans every suite
 * and resolves the targets (a selector matching nothing, a bad suite: 400,
 * before anything boots), records the run, and queues it; at most
 * `maxConcurrentRuns` run at once (default 1: lab VMs on a small host compete
 * for its cores), the rest wait in order as `queued`. It answers the API's
 * questions from the run store (the history survives a restart) and from the
 * live tasks (per-VM progress while a run goes on), cancels (queued: at once;
 * running: the engine stops, targets close, the partial report is stored),
 * deletes ended runs, and applies the store's retention on start and after
 * each run. On start, runs a previous server left queued or running are
 * marked interrupted (a server still alive on the same file keeps its runs).
 * `close()` stops every run (status interrupted) and waits for them to be
 * stored.
 */
import { randomUUID } from 'node:crypto';
import {
  AtpError,
  isActiveRunStatus,
  runOptionsOf,
  type ApiRunCreated,
  type ApiRunDetail,
  type ApiRunRequest,
  type ApiRunSummary,
  type RunEvent,
  type RunStatus,
} from '@atp/protocol';
import type { ConfigLocation } from '../../../config/paths.js';
import type { RunStore, StoredReport } from '../../../history/index.js';
import { HostConnections, targetOpeners } from '../../../targets/index.js';
import type { EventLog } from '../event-log.js';
import { vmProgressOf } from './progress.js';
import { CalibrationStore } from '../../../scenario/calibration-store.js';
import { configDir } from '../../../config/paths.js';
import { RunTask } from './run-task.js';
import { loadRunSuites } from './suites.js';
import { targetSpecOf, type ServerLabSettings } from './targets.js';
import { runDetailOf, runSummaryOf } from './views.js';

export interface RunManagerOptions {
  store: RunStore;
  events: EventLog;
  location: ConfigLocation;
  /** Where suite paths of requests are looked up (and must stay inside); asked at each start. */
  suiteDirs: () => readonly string[];
  /** Written into reports (tool.version). */
  version: string;
  log: (line: string) => void;
  lab?: ServerLabSettings;
  maxConcurrentRuns?: number;
}

/** True when no process `pid` runs here any more (or the run has no owner recorded); this process's own runs are gone too (a new manager on an open store). */
export function processGone(pid: number | null): boolean {
  if (pid === null || pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const conflict = (message: string, id: string, status: RunStatus): AtpError => new AtpError('ATP_API_CONFLICT', message, { details: { runId: id, status } });

export class RunManager {
  private readonly tasks = new Map<string, RunTask>();
  private readonly queue: RunTask[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private closing = false;

  constructor(private readonly options: RunManagerOptions) {
    const interrupted = options.store.markInterrupted(processGone);
    if (interrupted.length > 0) options.log(`runs: ${interrupted.length} run(s) a previous server left unfinished marked interrupted: ${interrupted.join(', ')}`);
    this.prune();
  }

  get store(): RunStore {
    return this.options.store;
  }

  /** Validates, plans, resolves targets, records and queues a run. */
  async start(request: ApiRunRequest): Promise<ApiRunCreated> {
    if (this.closing) throw new AtpError('ATP_API_CONFLICT', 'the server is stopping: no new runs');
    const suites = await loadRunSuites(request, this.options.suiteDirs());
    const id = randomUUID();
    const connections = new HostConnections(this.options.location);
    let openers;
    try {
      openers = await targetOpeners(targetSpecOf(request, suites, this.options.lab), {
        connections,
        location: this.options.location,
        prompt: false,
        warn: (line) => this.options.log(`run ${id}: ${line}`),
      });
      this.store.create({ id, options: runOptionsOf(request) });
    } catch (error) {
      await connections.close().catch(() => undefined);
      throw error;
    }
    const task = new RunTask({ id, request, suites, openers, connections }, {
      store: this.store,
      events: this.options.events,
      log: this.options.log,
      version: this.options.version,
      calibration: new CalibrationStore(configDir(this.options.location)),
    });
    this.tasks.set(id, task);
    this.queue.push(task);
    this.options.events.publish({ kind: 'run', runId: id, data: { type: 'run-status', status: 'queued' } });
    this.pump();
    return { id, status: task.status };
  }

  list(query: { limit?: number; offset?: number; status?: RunStatus } = {}): { runs: ApiRunSummary[]; total: number } {
    const { runs, total } = this.store.list(query);
    return { runs: runs.map((r) => runSummaryOf(r, this.tasks.get(r.id)?.status)), total };
  }

  detail(id: string): ApiRunDetail {
    const task = this.tasks.get(id);
    return runDetailOf(this.store.require(id), this.store, task === undefined ? undefined : { status: task.status, progress: vmProgressOf(task.progress) });
  }

  /** Cancels a queued or running run; 409 when it has ended. */
  async cancel(id: string): Promise<ApiRunCreated> {
    const task = this.tasks.get(id);
    if (task === undefined) {
      const record = this.store.require(id);
      throw conflict(isActiveRunStatus(record.status) ? `run ${id} is not run by this server` : `run ${id} has ended (${record.status}): nothing to cancel`, id, record.status);
    }
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.tasks.delete(id);
      await task.discard('cancelled');
    } else {
      task.stop('cancelled');
    }
    return { id, status: task.status };
  }

  /** Deletes an ended run and its events; 409 while it runs. */
  delete(id: string): void {
    const record = this.store.require(id);
    if (this.tasks.has(id) || isActiveRunStatus(record.status)) throw conflict(`run ${id} is ${record.status}: cancel it before deleting it`, id, record.status);
    this.store.delete(id);
  }

  /** The stored report, or 404 naming why there is none. */
  report(id: string): StoredReport {
    const stored = this.store.report(id);
    if (stored !== undefined) return stored;
    const record = this.store.require(id);
    throw new AtpError('ATP_API_NOT_FOUND', `run ${id} has no report${isActiveRunStatus(record.status) ? ` yet (${record.status})` : ` (${record.status}${record.error === undefined ? '' : `: ${record.error.message}`})`}`, {
      details: { runId: id, status: record.status },
    });
  }

  events(id: string, query: { after?: number; limit?: number } = {}): { status: RunStatus; events: RunEvent[] } {
    const record = this.store.require(id);
    return { status: record.status, events: this.store.events(id, query) };
  }

  /** Stops every run (interrupted), waits until each is stored, closes the store. */
  async close(): Promise<void> {
    this.closing = true;
    for (const task of this.queue.splice(0)) {
      this.tasks.delete(task.id);
      await task.discard('interrupted');
    }
    for (const task of this.tasks.values()) task.stop('interrupted');
    await Promise.all(this.running.values());
    this.store.close();
  }

  /** Starts queued runs while there is room. */
  private pump(): void {
    const limit = Math.max(1, this.options.maxConcurrentRuns ?? 1);
    while (!this.closing && this.running.size < limit) {
      const task = this.queue.shift();
      if (task === undefined) return;
      const done = task.run().finally(() => {
        this.running.delete(task.id);
        this.tasks.delete(task.id);
        this.prune();
        this.pump();
      });
      this.running.set(task.id, done);
    }
  }

  private prune(): void {
    try {
      const gone = this.store.prune();
      if (gone.length > 0) this.options.log(`runs: retention removed ${gone.length} old run(s)`);
    } catch (error) {
      this.options.log(`runs: pruning the run history failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
