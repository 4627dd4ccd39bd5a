/** Reports: the run report (JSON), JUnit XML, the terminal summary, the fleet summary and the live progress lines. */
export { buildReport, toJsonReport, writeJsonReport, type RunInfo } from './build.js';
export { buildFleetSummary, fleetVmOf, suiteKeysAndDefects, type FleetInput, type FleetTargetInput } from './fleet.js';
export { toJunitXml, writeJunitReport, WHOLE_RUN_TESTCASE, type JunitOptions } from './junit.js';
export { isPerVmJunit, TARGET_TESTCASE } from './junit-fleet.js';
export { formatSummary, FLEET_DETAIL_LIMIT, type SummaryOptions } from './summary.js';
export { formatTable, type TableColumn } from './table.js';
export { compareFleetVms, fleetTotalsText, fleetVerdict, hostLoadText, isFleetRun } from './fleet-text.js';
export { formatElapsed, formatProgress, type ProgressOptions, type ProgressState } from './progress.js';
export {
  FleetProgress,
  formatFleetEvent,
  formatFleetLine,
  type FleetLineOptions,
  type FleetProgressOptions,
  type FleetTargetPhase,
  type FleetTargetState,
  type FleetTargetWhere,
} from './fleet-progress.js';
export { failingFindings, formatDuration, formatFinding, formatKeysPerSecond, formatMs, noteFindings, printable } from './format.js';
export { writeFileAtomic } from './write-file.js';
export { formatHtmlReport, reportVerdict } from './html.js';
export { writeHtmlReport } from './html-write.js';
