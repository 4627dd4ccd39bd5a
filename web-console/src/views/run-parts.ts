/**
 * The pieces of a run's page, each a pure function from data to elements: the
 * summary list, the live per-VM progress table, the per-VM and per-suite
 * result tables of the report, and the plots' series. views/run.ts fetches
 * and streams; this file only draws.
 */
import { describeRunTargets, runSuiteName, type ApiRunDetail, type ApiVmProgress, type ReportV1 } from '@atp/protocol';
import { formatMs, formatTime, h, pill, table, type Child } from '../dom.js';
import type { PlacedFinding } from '../findings.js';
import type { Series } from '../plots.js';
import { vmStateWord, type RunProgress, type VmProgress } from '../progress.js';
import { runDuration } from './runs.js';

function dl(pairs: [string, Child][]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    pairs.map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))),
  );
}

export function summaryList(detail: ApiRunDetail, report: ReportV1 | undefined): HTMLElement {
  const o = detail.options;
  const fleet = detail.fleet ?? report?.fleet;
  const pairs: [string, Child][] = [
    ['Suites', o.suites.map(runSuiteName).join(', ')],
    ['Targets', describeRunTargets(o.targets)],
    ['Concurrency', o.concurrency === undefined ? 'default' : String(o.concurrency)],
    ['Rounds', o.durationMs !== undefined ? `for ${formatMs(o.durationMs)}` : String(o.rounds ?? 1)],
    ['On failure', o.onFailure ?? 'continue'],
    ['Created', formatTime(detail.createdAt)],
    ['Started', formatTime(detail.startedAt)],
    ['Finished', formatTime(detail.finishedAt)],
    ['Duration', formatMs(runDuration(detail))],
  ];
  if (detail.exitCode !== undefined) pairs.push(['Exit code', String(detail.exitCode)]);
  if (fleet !== undefined) {
    pairs.push(['Keys', `${fleet.totalKeys} (${fleet.keysPerSecond.toFixed(1)}/s)`]);
    if (fleet.worstP99 !== undefined) pairs.push(['Worst p99', `${formatMs(fleet.worstP99.p99Ms)} on ${fleet.worstP99.vm}`]);
    if (fleet.stopped !== undefined) pairs.push(['Stopped', `${fleet.stopped.reason}: ${fleet.stopped.message}`]);
  }
  if (report?.host !== undefined) pairs.push(['Host event loop', `p99 ${formatMs(report.host.eventLoopDelay.p99Ms)}, max ${formatMs(report.host.eventLoopDelay.maxMs)}`]);
  if (detail.error !== undefined) pairs.push(['Error', h('span', { class: 'error' }, `${detail.error.code}: ${detail.error.message}`)]);
  return dl(pairs);
}

/** One row of the progress table, from either the live events or the server's snapshot. */
interface ProgressRow {
  vm: string;
  state: string;
  round?: number;
  suite?: string;
  step?: number;
  steps?: number;
  stepLabel?: string;
  suitesDone: number;
  notPassed: number;
  keys: number;
  defects: number;
  findings: number;
  openMs?: number;
  error?: { code: string; message: string };
}

function fromLive(entry: VmProgress, progress: RunProgress): ProgressRow {
  const steps = entry.suite === undefined ? undefined : progress.suiteSteps.get(entry.suite);
  return {
    vm: entry.target,
    state: vmStateWord(entry),
    ...(entry.round === undefined ? {} : { round: entry.round }),
    ...(entry.suite === undefined ? {} : { suite: entry.suite }),
    ...(entry.step === undefined ? {} : { step: entry.step }),
    ...(steps === undefined ? {} : { steps }),
    ...(entry.stepLabel === undefined ? {} : { stepLabel: entry.stepLabel }),
    suitesDone: entry.suites.length,
    notPassed: entry.suites.filter((s) => s.verdict !== 'pass').length,
    keys: entry.suites.reduce((n, s) => n + s.keys, 0),
    defects: entry.suites.reduce((n, s) => n + s.defects, 0),
    findings: entry.findings.length,
    ...(entry.openMs === undefined ? {} : { openMs: entry.openMs }),
    ...(entry.error === undefined ? {} : { error: entry.error }),
  };
}

function fromSnapshot(p: ApiVmProgress): ProgressRow {
  return { ...p, state: p.phase, notPassed: p.suitesNotPassed };
}

export function progressRows(progress: RunProgress, snapshot: readonly ApiVmProgress[]): ProgressRow[] {
  return progress.vms.size > 0 ? [...progress.vms.values()].map((entry) => fromLive(entry, progress)) : snapshot.map(fromSnapshot);
}

function stepCell(row: ProgressRow): Child {
  if (row.state === 'waiting') return 'not opened yet (booting or queued)';
  if (row.state !== 'running' && row.state !== 'opened') return `finished${row.suitesDone > 0 ? ` after ${row.suitesDone} suite run${row.suitesDone === 1 ? '' : 's'}` : ''}`;
  if (row.step === undefined) return 'opened, about to start';
  const n = row.step + 1;
  const label = `step ${n}${row.steps === undefined ? '' : ` of ${row.steps}`}${row.stepLabel === undefined || row.stepLabel === '' ? '' : `: ${row.stepLabel}`}`;
  return h(
    'div',
    { class: 'step' },
    row.steps === undefined ? null : h('progress', { max: String(row.steps), value: String(Math.min(n, row.steps)), 'aria-label': `${row.vm}: ${label}` }),
    h('span', {}, `${row.suite ?? ''}${row.round === undefined || row.round === 1 ? '' : ` (round ${row.round})`}: ${label}`),
  );
}

export function progressTable(rows: ProgressRow[]): HTMLElement {
  return table(
    'Progress per VM',
    ['VM', 'State', 'Now', 'Suites done', 'Keys', 'Defects', 'Findings', 'Open'],
    rows.map((row) => [
      row.vm,
      pill(row.state),
      row.error === undefined ? stepCell(row) : h('span', { class: 'error' }, `${row.error.code}: ${row.error.message}`),
      `${row.suitesDone}${row.notPassed > 0 ? ` (${row.notPassed} not passed)` : ''}`,
      String(row.keys),
      String(row.defects),
      String(row.findings),
      formatMs(row.openMs),
    ]),
    { empty: 'No VM has started yet.', className: 'progress' },
  );
}

export function vmResultsTable(report: ReportV1): HTMLElement | null {
  const vms = report.fleet?.vms;
  if (vms === undefined) return null;
  return table(
    'Results per VM',
    ['VM', 'Outcome', 'Rounds', 'Suites', 'Keys', 'Defects', 'p50', 'p99', 'Open', 'Error'],
    vms.map((vm) => [vm.vm, pill(vm.outcome), String(vm.rounds), String(vm.suites), String(vm.keys), String(vm.defects), formatMs(vm.p50Ms), formatMs(vm.p99Ms), formatMs(vm.openMs), vm.error === undefined ? '' : `${vm.error.code}: ${vm.error.message}`]),
  );
}

export function suiteResultsTable(report: ReportV1): HTMLElement {
  return table(
    'Results per suite',
    ['VM', 'Suite', 'Round', 'Verdict', 'Matched', 'Findings', 'p50', 'p95', 'p99', 'Max', 'Duration'],
    report.suites.map((s) => [
      s.target.vm,
      s.name,
      s.round === undefined ? '–' : String(s.round),
      pill(s.verdict),
      `${s.counts.matched} of ${s.counts.expected}`,
      String(s.findings.length),
      formatMs(s.latency?.p50Ms),
      formatMs(s.latency?.p95Ms),
      formatMs(s.latency?.p99Ms),
      formatMs(s.latency?.maxMs),
      formatMs(s.durationMs),
    ]),
    { empty: 'No suite reports.' },
  );
}

export function reportFindings(report: ReportV1): PlacedFinding[] {
  return report.suites.flatMap((s) => s.findings.map((finding) => ({ finding, vm: s.target.vm, suite: s.name, ...(s.round === undefined ? {} : { round: s.round }) })));
}

export function liveFindings(progress: RunProgress): PlacedFinding[] {
  return [...progress.vms.values()].flatMap((vm) => vm.findings.map((f) => ({ finding: f.finding, vm: vm.target, suite: f.suite, round: f.round })));
}

export function latencySeries(report: ReportV1): Series[] {
  return report.suites
    .filter((s) => s.latencySamples !== undefined && s.latencySamples.points.length > 0)
    .map((s) => ({ label: `${s.target.vm} · ${s.name}${s.round === undefined ? '' : ` · round ${s.round}`}`, points: s.latencySamples?.points ?? [] }));
}
