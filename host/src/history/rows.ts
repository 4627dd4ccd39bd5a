/**
 * Rows of the run store → typed records. Every JSON column is parsed and
 * validated with its @atp/protocol schema (ReportV1, RunEvent, FleetSummary,
 * the run options, per-VM progress) before anything above the store sees it:
 * a row that is not JSON or not of its shape (a hand-edited file, a bit flip,
 * a bug of some other writer) is ATP_HISTORY_CORRUPT naming the file, the run
 * and the column, never a half-typed object.
 */
import { z } from 'zod';
import {
  AtpError,
  ApiRunOptionsSchema,
  ApiVmProgressSchema,
  FleetSummarySchema,
  ReportErrorSchema,
  ReportV1Schema,
  RUN_STATUSES,
  RunEventSchema,
  toValidationIssues,
  type ApiRunOptions,
  type ApiVmProgress,
  type FleetSummary,
  type ReportV1,
  type RunEvent,
  type RunStatus,
} from '@atp/protocol';

/** One run as the store knows it (the report itself is read separately: it can be large). */
export interface RunRecord {
  id: string;
  status: RunStatus;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  options: ApiRunOptions;
  exitCode?: number;
  error?: { code: string; message: string };
  fleet?: FleetSummary;
  /** Per-VM progress kept when the run ended (absent while it runs, and for runs a crash interrupted). */
  progress?: ApiVmProgress[];
  hasReport: boolean;
  eventCount: number;
}

export interface StoredReport {
  report: ReportV1;
  /** Per suite report, in report order: its step labels (JUnit testcase names). */
  stepLabels: string[][];
}

/** The columns every run query selects (not the report). */
export interface RunRow {
  id: string;
  status: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  options: string;
  exit_code: number | null;
  error: string | null;
  fleet: string | null;
  progress: string | null;
  has_report: number;
  event_count: number;
}

const StepLabelsSchema = z.array(z.array(z.string()));
const ProgressSchema = z.array(ApiVmProgressSchema);
const StatusSchema = z.enum(RUN_STATUSES);

export function corrupt(file: string, runId: string, column: string, reason: string, cause?: unknown): AtpError {
  return new AtpError('ATP_HISTORY_CORRUPT', `${file}: run ${runId}: stored ${column} is invalid: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { file, runId, column },
  });
}

/** Parses one JSON column with its schema; ATP_HISTORY_CORRUPT naming the run and column otherwise. */
export function decodeJson<S extends z.ZodType>(schema: S, text: string, where: { file: string; runId: string; column: string }): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw corrupt(where.file, where.runId, where.column, 'not JSON', error);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = toValidationIssues(result.error.issues);
  const listed = issues.slice(0, 3).map((i) => `${i.pathText}: ${i.message}`).join('; ');
  throw corrupt(where.file, where.runId, where.column, `${listed}${issues.length > 3 ? ` (and ${issues.length - 3} more)` : ''}`);
}

const iso = (ms: number | null): string | undefined => (ms === null ? undefined : new Date(ms).toISOString());

export function decodeRun(row: RunRow, file: string): RunRecord {
  const at = (column: string): { file: string; runId: string; column: string } => ({ file, runId: row.id, column });
  const status = StatusSchema.safeParse(row.status);
  if (!status.success) throw corrupt(file, row.id, 'status', `unknown status ${JSON.stringify(row.status)}`);
  const startedAt = iso(row.started_at);
  const finishedAt = iso(row.finished_at);
  return {
    id: row.id,
    status: status.data,
    createdAt: new Date(row.created_at).toISOString(),
    ...(startedAt === undefined ? {} : { startedAt }),
    ...(finishedAt === undefined ? {} : { finishedAt }),
    options: decodeJson(ApiRunOptionsSchema, row.options, at('options')),
    ...(row.exit_code === null ? {} : { exitCode: row.exit_code }),
    ...(row.error === null ? {} : { error: decodeJson(ReportErrorSchema, row.error, at('error')) }),
    ...(row.fleet === null ? {} : { fleet: decodeJson(FleetSummarySchema, row.fleet, at('fleet')) }),
    ...(row.progress === null ? {} : { progress: decodeJson(ProgressSchema, row.progress, at('progress')) }),
    hasReport: row.has_report === 1,
    eventCount: row.event_count,
  };
}

export function decodeReport(runId: string, report: string, labels: string | null, file: string): StoredReport {
  return {
    report: decodeJson(ReportV1Schema, report, { file, runId, column: 'report' }),
    stepLabels: labels === null ? [] : decodeJson(StepLabelsSchema, labels, { file, runId, column: 'step_labels' }),
  };
}

export function decodeEvent(runId: string, idx: number, event: string, file: string): RunEvent {
  return decodeJson(RunEventSchema, event, { file, runId, column: `run_events[${idx}]` });
}
