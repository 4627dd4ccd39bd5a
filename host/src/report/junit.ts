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
 */
import type { Finding, ReportV1, SuiteReport } from '@atp/protocol';
import { failingFindings, formatCounts, formatFinding, formatMs, formatPx, noteFindings } from './format.js';
import { renderXml, type XmlElement } from './xml.js';
import { writeFileAtomic } from './write-file.js';

export interface JunitOptions {
  /** Per suite, in report order: one label per top-level step (see stepLabels in host/src/scenario). */
  stepLabels?: ReadonlyArray<readonly string[] | undefined>;
}

/** Name of the testcase that holds whole-run checks and figures. */
export const WHOLE_RUN_TESTCASE = 'whole run';

const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);

function failureElement(name: 'failure' | 'error', findings: readonly Finding[], type: string, message?: string): XmlElement {
  const lines = findings.map(formatFinding);
  const first = message ?? lines[0] ?? '';
  const more = message === undefined && findings.length > 1 ? ` (and ${findings.length - 1} more)` : '';
  const body = message === undefined ? lines : [message, ...lines];
  return { name, attrs: { type, message: `${first}${more}` }, children: body.length > 0 ? [body.join('\n')] : [] };
}

const kindsOf = (findings: readonly Finding[]): string => [...new Set(findings.map((f) => f.kind))].join(',');

function properties(suite: SuiteReport): XmlElement {
  const props: [string, string | number | undefined][] = [
    ['atp.verdict', suite.verdict],
    ['atp.source', suite.source],
    ['atp.target.vm', suite.target.vm],
    ['atp.target.host', suite.target.host],
    ['atp.target.injector', suite.target.injector],
    ['atp.target.layout', suite.target.layout],
    ['atp.observer.kind', suite.observer.kind],
    ['atp.observer.id', suite.observer.id],
    ...Object.entries(suite.counts).map(([k, v]): [string, number] => [`atp.count.${k}`, v]),
    ...Object.entries(suite.latency ?? {}).map(([k, v]): [string, number] => [`atp.latency.${k}`, v]),
    ...Object.entries(suite.pointer ?? {}).map(([k, v]): [string, number] => [`atp.pointer.${k}`, v]),
  ];
  return {
    name: 'properties',
    children: props.filter(([, v]) => v !== undefined).map(([name, value]) => ({ name: 'property', attrs: { name, value } })),
  };
}

function figures(suite: SuiteReport): string {
  const lines = [`counts: ${formatCounts(suite.counts)}`];
  const l = suite.latency;
  if (l !== undefined) {
    lines.push(`latency: n=${l.n} p50 ${formatMs(l.p50Ms)} p95 ${formatMs(l.p95Ms)} p99 ${formatMs(l.p99Ms)} max ${formatMs(l.maxMs)} (clock offset ${formatMs(l.clockOffsetMs)} ±${formatMs(l.clockUncertaintyMs)})`);
  }
  const p = suite.pointer;
  if (p !== undefined) lines.push(`pointer: max error ${formatPx(p.maxErrorPx)}, mean ${formatPx(p.meanErrorPx)}, tolerance ${formatPx(p.tolerancePx)}, ${p.samples} samples`);
  for (const note of noteFindings(suite)) lines.push(`note: ${formatFinding(note)}`);
  return lines.join('\n');
}

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
  const wholeRun = failing.filter((f) => f.step === undefined);
  const wholeChildren: XmlElement[] = [];
  if (suite.verdict === 'error') {
    const e = suite.error ?? { code: 'error', message: 'the suite could not run to the end' };
    wholeChildren.push(failureElement('error', wholeRun, e.code, `${e.code}: ${e.message}`));
  } else if (wholeRun.length > 0) {
    wholeChildren.push(failureElement('failure', wholeRun, kindsOf(wholeRun)));
  } else if (suite.verdict === 'fail' && failing.length === 0) {
    wholeChildren.push(failureElement('failure', [], 'fail', `suite failed (${formatCounts(suite.counts)})`));
  }
  wholeChildren.push({ name: 'system-out', children: [figures(suite)] });
  cases.push({ name: 'testcase', attrs: { name: WHOLE_RUN_TESTCASE, classname, file, time: seconds(suite.durationMs) }, children: wholeChildren });
  const count = (tag: string): number => cases.filter((c) => c.children?.some((ch) => typeof ch !== 'string' && ch.name === tag)).length;
  return {
    name: 'testsuite',
    attrs: { name: suite.name, tests: cases.length, failures: count('failure'), errors: count('error'), skipped: 0, time: seconds(suite.durationMs), timestamp, file },
    children: [properties(suite), ...cases],
  };
}

/** The report as a JUnit XML document. */
export function toJunitXml(report: ReportV1, options: JunitOptions = {}): string {
  const suites = report.suites.map((s, i) => suiteElement(s, report.startedAt, options.stepLabels?.[i]));
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
