/**
 * The run report as one self-contained HTML page (`--report html:FILE`, and
 * GET /api/v1/runs/:id/report.html): the verdict and a summary (suites, keys,
 * findings, duration, the host's load), the fleet's per-VM table, a v2 suite's
 * platform steps, a table of every suite report linking to its section, and
 * per suite its findings (expected vs observed as a diff), latency plots and
 * pointer figures (html-suite.ts).
 *
 * Self-contained: inline CSS and inline SVG, no script, no font, no image, no
 * link to anything outside the page, and a Content-Security-Policy that
 * forbids every fetch (default-src 'none'), so the file shows the same
 * offline, attached to a CI job, or served by the API. Every text from the
 * report is escaped (html-parts.ts). Pure: writing the file is html-write.ts.
 */
import type { FleetSummary, PlatformStepResult, ReportV1, SuiteReport } from '@atp/protocol';
import { compareFleetVms, fleetVerdict, isFleetRun } from './fleet-text.js';
import { failingFindings, formatDuration, formatKeysPerSecond, formatMs, printable } from './format.js';
import { badge, esc, facts, raw, table, text, type Cell, type Verdictish } from './html-parts.js';
import { REPORT_CSS } from './html-style.js';
import { suiteAnchor, suiteSection, suiteWhere } from './html-suite.js';

export interface HtmlReportOptions {
  /** Per suite, in report order: one label per top-level step (stepLabels in host/src/scenario). */
  stepLabels?: ReadonlyArray<readonly string[] | undefined>;
  /** The page's heading (default "ATP run report"). */
  title?: string;
  /** Findings listed per suite before "… and N more" (default 200). */
  maxFindings?: number;
}

/** Passing suites are shown open when the report has at most this many suites. */
const OPEN_PASSING_UP_TO = 6;
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

type Verdict = SuiteReport['verdict'];
const RANK: Readonly<Record<Verdict, number>> = { pass: 0, fail: 1, error: 2 };
const worst = (a: Verdict, b: Verdict): Verdict => (RANK[a] >= RANK[b] ? a : b);

/** ERROR when a suite could not run (or the fleet stopped early), FAIL when one failed or nothing ran, else PASS. */
export function reportVerdict(report: ReportV1): Verdict {
  const suites = report.suites.map((s) => s.verdict);
  let verdict: Verdict = suites.length === 0 ? 'fail' : suites.reduce(worst, 'pass');
  if (report.fleet !== undefined) verdict = worst(verdict, fleetVerdict(report.fleet));
  if (report.steps?.some((s) => s.outcome === 'failed') === true) verdict = worst(verdict, 'fail');
  return verdict;
}

const utc = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+/, '').replace(/Z$|\+00:00$/, ' UTC');
const count = (suites: readonly SuiteReport[], v: Verdict): number => suites.filter((s) => s.verdict === v).length;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "1 passed, 1 failed, 1 infra-error": the outcomes that occurred (passed and failed always). */
function fleetOutcomes(fleet: FleetSummary): string {
  const parts: [number, string, boolean][] = [
    [fleet.passed, 'passed', true],
    [fleet.failed, 'failed', true],
    [fleet.infraError, 'infra-error', false],
    [fleet.aborted, 'aborted', false],
    [fleet.notRun, 'not-run', false],
  ];
  return parts.filter(([n, , always]) => always || n > 0).map(([n, word]) => `${n} ${word}`).join(', ');
}

function summarySection(report: ReportV1, verdict: Verdict): string {
  const s = report.suites;
  const expected = s.reduce((n, x) => n + x.counts.expected, 0);
  const matched = s.reduce((n, x) => n + x.counts.matched, 0);
  const findings = s.reduce((n, x) => n + failingFindings(x).length, 0);
  const elapsed = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  const pairs: [string, Cell][] = [
    ['verdict', badge(verdict, verdict.toUpperCase())],
    ['suites', `${s.length}: ${count(s, 'pass')} passed, ${count(s, 'fail')} failed, ${plural(count(s, 'error'), 'error')}`],
    ['keys and buttons', `${matched} of ${expected} matched`],
    ['findings', findings],
    ['duration', formatDuration(elapsed)],
    ['started', utc(report.startedAt)],
    ['finished', utc(report.finishedAt)],
  ];
  if (report.fleet !== undefined) pairs.splice(2, 0, ['VMs', `${report.fleet.vms.length}: ${fleetOutcomes(report.fleet)}`]);
  const host = report.host;
  if (host !== undefined) {
    const d = host.eventLoopDelay;
    pairs.push(['host event-loop delay', `p50 ${formatMs(d.p50Ms)} · p99 ${formatMs(d.p99Ms)} · max ${formatMs(d.maxMs)}`]);
    if (host.cpuPercent !== undefined) pairs.push(['host CPU', `${Math.round(host.cpuPercent)}% (100% = one core)`]);
    if (host.maxRssMb !== undefined) pairs.push(['host max RSS', `${Math.round(host.maxRssMb)} MB`]);
  }
  return `<section aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>${facts(pairs, 'facts summary')}</section>`;
}

const OUTCOME_BADGE: Readonly<Record<string, Verdictish>> = { passed: 'pass', failed: 'fail', 'infra-error': 'error', aborted: 'error', 'not-run': 'skip' };

function fleetSection(fleet: FleetSummary): string {
  const head: [string, Cell][] = [
    ['VMs', fleet.vms.length],
    ['outcomes', fleetOutcomes(fleet)],
    ['concurrency', fleet.concurrency],
    ['rounds', fleet.rounds ?? (fleet.durationMs === undefined ? 1 : undefined)],
    ['for', fleet.durationMs === undefined ? undefined : formatDuration(fleet.durationMs)],
    ['on failure', fleet.onFailure],
    ['keys', `${fleet.totalKeys} (${formatKeysPerSecond(fleet.keysPerSecond)})`],
    ['worst p99', fleet.worstP99 === undefined ? undefined : `${formatMs(fleet.worstP99.p99Ms)} (${fleet.worstP99.vm})`],
  ];
  const ms = (v: number | undefined): Cell => (v === undefined ? undefined : formatMs(v));
  const rows = [...fleet.vms].sort(compareFleetVms).map((v): Cell[] => [
    v.vm,
    badge(OUTCOME_BADGE[v.outcome] ?? 'skip', v.outcome),
    v.rounds,
    v.suites,
    v.keys,
    v.defects,
    ms(v.p50Ms),
    ms(v.p99Ms),
    v.openMs === undefined ? undefined : formatDuration(v.openMs),
    v.error === undefined ? undefined : raw(`<strong>${text(v.error.code)}</strong>: ${text(v.error.message)}`),
  ]);
  const stopped = fleet.stopped === undefined ? '' : `<p class="error-box"><strong>stopped (${text(fleet.stopped.reason)})</strong>: ${text(fleet.stopped.message)}</p>`;
  return (
    `<section aria-labelledby="fleet-h"><h2 id="fleet-h">Fleet</h2>${facts(head.filter(([, v]) => v !== undefined))}${stopped}` +
    table({ caption: 'Per VM (failures first)', head: ['VM', 'Outcome', 'Rounds', 'Suites', 'Keys', 'Defects', 'p50', 'p99', 'Open', 'Error'], rows, numeric: [2, 3, 4, 5, 6, 7, 8], rowHeaders: true, className: 'fleet' }) +
    '</section>'
  );
}

const STEP_BADGE: Readonly<Record<PlatformStepResult['outcome'], Verdictish>> = { ok: 'pass', failed: 'fail', skipped: 'skip' };

function stepsSection(steps: readonly PlatformStepResult[]): string {
  const rows = steps.map((s): Cell[] => [
    s.step,
    s.action,
    s.label,
    badge(STEP_BADGE[s.outcome], s.outcome),
    formatDuration(s.durationMs),
    s.error === undefined ? undefined : raw(`<strong>${text(s.error.code)}</strong>: ${text(s.error.message)}`),
    s.vms === undefined ? undefined : raw(s.vms.map((v) => `${text(v.vm)} ${v.ok ? '✓ ok' : '✗ failed'}${v.detail === undefined ? '' : `: ${text(v.detail)}`}`).join('<br>')),
  ]);
  return `<section aria-labelledby="steps-h"><h2 id="steps-h">Steps</h2>${table({ head: ['Step', 'Action', 'Label', 'Outcome', 'Duration', 'Error', 'VMs'], rows, numeric: [0] })}</section>`;
}

function suitesIndex(suites: readonly SuiteReport[]): string {
  const rows = suites.map((s, i): Cell[] => [
    raw(`<a href="#${suiteAnchor(i)}">${text(s.name)}</a>`),
    suiteWhere(s),
    badge(s.verdict, s.verdict.toUpperCase()),
    `${s.counts.matched}/${s.counts.expected}`,
    failingFindings(s).length,
    s.latency === undefined ? undefined : formatMs(s.latency.p50Ms),
    s.latency === undefined ? undefined : formatMs(s.latency.p99Ms),
    formatDuration(s.durationMs),
  ]);
  return table({ caption: 'Every suite report (links to its details below)', head: ['Suite', 'Where', 'Verdict', 'Matched', 'Findings', 'p50', 'p99', 'Duration'], rows, numeric: [3, 4, 5, 6, 7], rowHeaders: true });
}

/** The report as one HTML document (UTF-8, self-contained). */
export function formatHtmlReport(report: ReportV1, options: HtmlReportOptions = {}): string {
  const verdict = reportVerdict(report);
  const title = options.title ?? 'ATP run report';
  const maxFindings = Math.max(1, options.maxFindings ?? 200);
  const elapsed = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  const many = report.suites.length > OPEN_PASSING_UP_TO;
  const sections = report.suites.map((s, i) =>
    suiteSection(s, { index: i, open: s.verdict !== 'pass' || !many, maxFindings, ...(options.stepLabels?.[i] === undefined ? {} : { labels: options.stepLabels[i] }) }),
  );
  const fleet = report.fleet !== undefined && (isFleetRun(report) || report.fleet.vms.length > 0) ? fleetSection(report.fleet) : '';
  const steps = report.steps === undefined || report.steps.length === 0 ? '' : stepsSection(report.steps);
  const docTitle = `${printable(title)}: ${verdict.toUpperCase()} · ${report.suites.length} suite${report.suites.length === 1 ? '' : 's'} · ${utc(report.startedAt)}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${esc(CSP)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<meta name="generator" content="ATP ${esc(report.tool.version)}">`,
    `<title>${esc(docTitle)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    `<header><h1>${text(title)} ${badge(verdict, verdict.toUpperCase()).html}</h1>`,
    `<p class="sub">ATP ${text(report.tool.version)} · started ${text(utc(report.startedAt))} · ${text(formatDuration(elapsed))}</p></header>`,
    summarySection(report, verdict),
    fleet,
    steps,
    `<section aria-labelledby="suites-h"><h2 id="suites-h">Suites</h2>${report.suites.length === 0 ? '<p>No suite ran.</p>' : suitesIndex(report.suites)}`,
    ...sections,
    '</section>',
    `<footer>Written by ATP ${text(report.tool.version)} from report format v${report.version}. Self-contained: this page loads nothing from anywhere.</footer>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
