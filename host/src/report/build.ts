/**
 * The run report: SuiteReports from the verify engine plus run metadata, checked
 * against report schema v1 before anything is written (a report that fails its
 * own schema is a bug, caught here rather than by whoever reads the file).
 */
import { parseReport, type ReportV1, type SuiteReport } from '@atp/protocol';
import { writeFileAtomic } from './write-file.js';

export interface RunInfo {
  startedAt: Date | string;
  finishedAt: Date | string;
  /** ATP's version (the host package's). */
  version: string;
}

const iso = (t: Date | string): string => (typeof t === 'string' ? t : t.toISOString());

/** A validated ReportV1; ATP_SCHEMA_INVALID naming the field when a suite report is malformed. */
export function buildReport(suites: readonly SuiteReport[], info: RunInfo): ReportV1 {
  return parseReport(
    { version: 1, tool: { name: 'atp', version: info.version }, startedAt: iso(info.startedAt), finishedAt: iso(info.finishedAt), suites },
    'run report',
  );
}

/** The report as pretty JSON, re-validated, ending with a newline. */
export function toJsonReport(report: ReportV1): string {
  return `${JSON.stringify(parseReport(report, 'run report'), null, 2)}\n`;
}

/** Writes the report as JSON (atomically; parent folders created). ATP_REPORT_WRITE on failure. */
export async function writeJsonReport(report: ReportV1, file: string): Promise<void> {
  await writeFileAtomic(file, toJsonReport(report));
}
