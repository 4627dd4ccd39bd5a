/** Reports: the run report (JSON), JUnit XML, the terminal summary and the live progress line. */
export { buildReport, toJsonReport, writeJsonReport, type RunInfo } from './build.js';
export { toJunitXml, writeJunitReport, WHOLE_RUN_TESTCASE, type JunitOptions } from './junit.js';
export { formatSummary, type SummaryOptions } from './summary.js';
export { formatElapsed, formatProgress, type ProgressOptions, type ProgressState } from './progress.js';
export { failingFindings, formatDuration, formatFinding, formatMs, noteFindings, printable } from './format.js';
export { writeFileAtomic } from './write-file.js';
