/**
 * Stored runs as the API shows them (ApiRunSummary, ApiRunDetail): the same
 * shapes for GET /api/v1/runs[/:id] and `atp-host runs list|show --json`.
 * A live run's status and progress come from the server's task (`live`);
 * otherwise progress is the snapshot kept at the end, or rebuilt from the
 * stored run events (a run a crash interrupted, or one another process runs).
 */
import { describeRunTargets, runSuiteName, type ApiRunDetail, type ApiRunSummary, type ApiVmProgress, type RunStatus } from '@atp/protocol';
import type { RunRecord, RunStore } from '../../../history/index.js';
import { replayProgress } from './progress.js';

export interface LiveRun {
  status: RunStatus;
  progress: ApiVmProgress[];
}

export function runSummaryOf(record: RunRecord, status: RunStatus = record.status): ApiRunSummary {
  const f = record.fleet;
  return {
    id: record.id,
    status,
    createdAt: record.createdAt,
    ...(record.startedAt === undefined ? {} : { startedAt: record.startedAt }),
    ...(record.finishedAt === undefined ? {} : { finishedAt: record.finishedAt }),
    suites: record.options.suites.map(runSuiteName),
    targets: describeRunTargets(record.options.targets),
    ...(record.exitCode === undefined ? {} : { exitCode: record.exitCode }),
    ...(f === undefined ? {} : { vms: { total: f.vms.length, passed: f.passed, failed: f.failed, infraError: f.infraError, aborted: f.aborted, notRun: f.notRun } }),
    ...(record.error === undefined ? {} : { error: record.error }),
    hasReport: record.hasReport,
  };
}

export function runDetailOf(record: RunRecord, store: RunStore, live?: LiveRun): ApiRunDetail {
  const progress = live?.progress ?? record.progress ?? (record.eventCount > 0 ? replayProgress(store.events(record.id)) : []);
  return {
    ...runSummaryOf(record, live?.status),
    options: record.options,
    progress,
    ...(record.fleet === undefined ? {} : { fleet: record.fleet }),
    events: record.eventCount,
  };
}
