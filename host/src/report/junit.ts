/**
 * JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters), which show
 * testcases with their failure text:
 *
 *  - one <testsuite> per suite, with counts, target, observer, latency and
 *    pointer figures as <properties>, its duration as `time`, its file as `file`;
 *  - one <testcase> per top-level step, named "steps[3] press ctrl+c", with one
 *    <failure> listing that step's findings (type = their kinds) — every step
 *    when the caller passes step labels (stepLabels(scenario)), else only steps
 *    that have findings, since a SuiteReport does not know its step count;
 *  - one "whole run" testcase for findings without a step (stuck keys, dropped
 *    events, timeouts), the suite's <error> when it could not run, and the
 *    latency, pointer and count figures in its <system-out>.
 * A passing suite has no failures: its 'error' findings (a clock warning) are
 * notes in <system-out>. Timing: steps carry time 0, the whole run the duration.
 *
 * That is the layout of a single-VM run. A report with a fleet summary, or
 * with suites from more than one VM, is written per VM instead (junit-fleet.ts):
 * one <testsuite> per VM whose testcases are its suite reports. The choice
 * depends on the report's kind, not on how many VMs a fleet run happened to
 * match, so a CI's test history keeps its names when a --vms glob matches one VM.
 */
import type { Finding, ReportV1, SuiteReport } from '@atp/protocol';
import { failingFindings } from './format.js';
import { countWith, failureElement, figures, kindsOf, seconds, suiteProperties, verdictElement } from './junit-parts.js';
import { fleetSuiteElements, isPerVmJunit } from './junit-fleet.js';
import { renderXml, type XmlElement } from './xml.js';
import { writeFileAtomic } from './write-file.js';

export interface JunitOptions {
  /** Per suite, in report order: one label per top-level step (see stepLabels in host/src/scenario). Used by the per-suite layout only. */
  stepLabels?: ReadonlyArray<readonly string[] | undefined>;
}

/** Name of the testcase that holds whole-run checks and figures. */
export const WHOLE_RUN_TESTCASE = 'whole run';

function suiteElement(suite: SuiteReport, timestamp: string, labels: readonly string[] | undefined): XmlElement {
  const classname = suite.name;
  const file = suite.source;
  const failing = failingFindings(suite);
  const byStep = new Map<number, Finding[]>();
  for (const f of failing) if (f.step !== undefined) byStep.set(f.step, [...(byStep.get(f.step) ?? []), f]);
  const stepIndexes = new Set<number>([...(labels ?? []).keys(), ...byStep.keys()]);
  const cases: XmlElement[] = [...stepIndexes]
    .sort((a, b) => a - b)
    .map((i) => {
      const label = labels?.[i];
      const findings = byStep.get(i) ?? [];
      return {
        name: 'testcase',
        attrs: { name: label === undefined ? `steps[${i}]` : `steps[${i}] ${label}`, classname, file, time: seconds(0) },
        children: findings.length > 0 ? [failureElement('failure', findings, kindsOf(findings))] : [],
      };
    });
  const verdict = verdictElement(suite, failing.filter((f) => f.step === undefined));
  const wholeChildren: XmlElement[] = [...(verdict === undefined ? [] : [verdict]), { name: 'system-out', children: [figures(suite)] }];
  cases.push({ name: 'testcase', attrs: { name: WHOLE_RUN_TESTCASE, classname, file, time: seconds(suite.durationMs) }, children: wholeChildren });
  return {
    name: 'testsuite',
    attrs: { name: suite.name, tests: cases.length, failures: countWith(cases, 'failure'), errors: countWith(cases, 'error'), skipped: 0, time: seconds(suite.durationMs), timestamp, file },
    children: [suiteProperties(suite), ...cases],
  };
}

/** The report as a JUnit XML document: per VM when isPerVmJunit(report), else per suite report. */
export function toJunitXml(report: ReportV1, options: JunitOptions = {}): string {
  const suites = isPerVmJunit(report) ? fleetSuiteElements(report) : report.suites.map((s, i) => suiteElement(s, report.startedAt, options.stepLabels?.[i]));
  const sum = (attr: string): number => suites.reduce((n, s) => n + Number(s.attrs?.[attr] ?? 0), 0);
  const elapsed = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  return renderXml({
    name: 'testsuites',
    attrs: { name: 'atp', tests: sum('tests'), failures: sum('failures'), errors: sum('errors'), skipped: 0, time: seconds(elapsed), timestamp: report.startedAt },
    children: suites,
  });
}

/** Writes toJunitXml(report) to `file` (atomically; parent folders created). ATP_REPORT_WRITE on failure. */
export async function writeJunitReport(report: ReportV1, file: string, options: JunitOptions = {}): Promise<void> {
  await writeFileAtomic(file, toJunitXml(report, options));
}
