/**
 * The run report: SuiteReports from the verify engine plus run metadata (and,
 * from the run engine, the fleet summary and the host's load), checked
 * against report schema v1 before anything is written (a report that fails its
 * own schema is a bug, caught here rather than by whoever reads the file).
 */
import { formatPath, parseReport, schemaError, type FleetSummary, type HostLoad, type ReportV1, type SuiteReport, type ValidationIssue } from '@atp/protocol';
import { fleetVmOf } from './fleet.js';
import { writeFileAtomic } from './write-file.js';

export interface RunInfo {
  startedAt: Date | string;
  finishedAt: Date | string;
  /** ATP's version (the host package's). */
  version: string;
  /** Per-VM outcomes of a fleet or multi-round run (buildFleetSummary). */
  fleet?: FleetSummary;
  /** The host's own load during the run. */
  host?: HostLoad;
}

const iso = (t: Date | string): string => (typeof t === 'string' ? t : t.toISOString());

/** A fleet names each VM once, and every suite report ran on one of its VMs. */
function checkFleet(suites: readonly SuiteReport[], fleet: FleetSummary): void {
  const issues: ValidationIssue[] = [];
  const add = (path: (string | number)[], message: string): void => {
    issues.push({ path, pathText: formatPath(path), message, code: 'custom' });
  };
  const names = new Set<string>();
  fleet.vms.forEach((v, i) => {
    if (names.has(v.vm)) add(['fleet', 'vms', i, 'vm'], `duplicate VM name "${v.vm}"`);
    names.add(v.vm);
  });
  suites.forEach((s, i) => {
    if (fleetVmOf(s, names) === undefined) add(['suites', i, 'target', 'vm'], `"${s.target.vm}" is not a VM of the fleet summary`);
  });
  if (issues.length > 0) throw schemaError(issues, { source: 'run report', what: 'report' });
}

/**
 * A validated ReportV1; ATP_SCHEMA_INVALID naming the field when a suite report
 * is malformed or a suite ran on a VM the fleet summary does not list.
 */
export function buildReport(suites: readonly SuiteReport[], info: RunInfo): ReportV1 {
  if (info.fleet !== undefined) checkFleet(suites, info.fleet);
  return parseReport(
    {
      version: 1,
      tool: { name: 'atp', version: info.version },
      startedAt: iso(info.startedAt),
      finishedAt: iso(info.finishedAt),
      suites,
      ...(info.fleet === undefined ? {} : { fleet: info.fleet }),
      ...(info.host === undefined ? {} : { host: info.host }),
    },
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
