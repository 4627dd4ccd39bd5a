/**
 * One suite report as a section of the HTML report: where it ran, its error,
 * counts, latency figures with a histogram and latency over time (from the
 * report's latency samples), pointer accuracy (the figures first, they are
 * short), then findings (step with its label, kind, message, expected vs
 * observed as a diff), notes, the input devices and the agent's own problems. Failing suites are open, passing ones may be
 * folded (a <details> element: no script needed). Pure.
 */
import { REPORT_COUNT_KEYS, type Finding, type SuiteReport } from '@atp/protocol';
import { findingDiff } from './html-diff.js';
import { badge, domId, facts, raw, table, text, type Cell, type Raw } from './html-parts.js';
import { failingFindings, formatDuration, formatMs, formatPx, noteFindings } from './format.js';
import { histogramBins, histogramSvg, latencyOverTimeSvg, type Marker } from './plots.js';
import { tickLabel } from './plots-scale.js';

export interface SuiteSectionOptions {
  /** Position in the report (ids, headings). */
  index: number;
  /** One label per top-level step, when the caller knows them. */
  labels?: readonly string[];
  open: boolean;
  /** Findings listed per table before "… and N more". */
  maxFindings: number;
}

export const suiteAnchor = (index: number): string => domId('suite', index + 1);

/** "lab-02 on qa-host · round 3" */
export function suiteWhere(suite: SuiteReport): string {
  const host = suite.target.host === undefined ? '' : ` on ${suite.target.host}`;
  return `${suite.target.vm}${host}${suite.round === undefined ? '' : ` · round ${suite.round}`}`;
}

function stepCell(step: number | undefined, labels: readonly string[] | undefined): Cell {
  if (step === undefined) return 'whole run';
  const label = labels?.[step];
  return label === undefined ? `step ${step}` : raw(`step ${step}<br><span class="muted">${text(label)}</span>`);
}

function messageOf(f: Finding): string {
  let message = f.message.trim();
  if (f.step !== undefined) message = message.replace(new RegExp(` at step ${f.step}(?!\\d)`, 'g'), '');
  return message === '' ? f.kind : message;
}

function findingsTable(title: string, findings: readonly Finding[], o: SuiteSectionOptions, kind: 'fail' | 'note'): string {
  if (findings.length === 0) return '';
  const shown = findings.slice(0, o.maxFindings);
  const rows = shown.map((f): Cell[] => {
    const diff = findingDiff(f.expected, f.observed);
    return [stepCell(f.step, o.labels), badge(kind === 'fail' ? 'fail' : 'note', f.kind), messageOf(f), diff === '' ? undefined : raw(diff)];
  });
  const more = findings.length - shown.length;
  return (
    `<h4>${text(`${title} (${findings.length})`)}</h4>` +
    table({ head: ['Step', 'Kind', 'Message', 'Expected (−) vs observed (+)'], rows, className: 'findings' }) +
    (more > 0 ? `<p class="muted">… and ${more} more ${text(title.toLowerCase())} (the JSON report has them all).</p>` : '')
  );
}

function countsTable(suite: SuiteReport): string {
  const keys = REPORT_COUNT_KEYS.filter((k) => k === 'expected' || k === 'matched' || suite.counts[k] !== 0);
  return table({ caption: 'Counts', head: keys, rows: [keys.map((k) => suite.counts[k])], numeric: keys.map((_, i) => i), className: 'counts' });
}

function latencyBlock(suite: SuiteReport, id: string): string {
  const l = suite.latency;
  if (l === undefined) return '';
  const figures = facts([
    ['measured', l.n],
    ['p50', formatMs(l.p50Ms)],
    ['p95', formatMs(l.p95Ms)],
    ['p99', formatMs(l.p99Ms)],
    ['max', formatMs(l.maxMs)],
    ['clock offset', `${formatMs(l.clockOffsetMs)} ± ${formatMs(l.clockUncertaintyMs)}`],
  ]);
  const samples = suite.latencySamples;
  if (samples === undefined || samples.points.length === 0) {
    return `<h4>Latency</h4>${figures}<p class="muted">This report holds no per-key latencies (only the figures above), so there is nothing to plot.</p>`;
  }
  const markers: Marker[] = [
    { label: 'p50', value: l.p50Ms },
    { label: 'p95', value: l.p95Ms },
    { label: 'p99', value: l.p99Ms },
  ];
  const values = samples.points.map(([, v]) => v);
  const name = `${suite.name} on ${suiteWhere(suite)}`;
  const spread = samples.total > samples.points.length ? `<p class="muted">The plots show ${samples.points.length} of ${samples.total} latencies, evenly spread over the run; the figures above are over all of them.</p>` : '';
  const h = histogramBins(values);
  const binRows = h.bins.map((b): Cell[] => [b.overflow === true ? `≥ ${tickLabel(b.from, h.width)} ms (to ${formatMs(b.to)})` : `${tickLabel(b.from, h.width)}–${tickLabel(b.to, h.width)} ms`, b.count]);
  return (
    `<h4>Latency</h4>${figures}${spread}<div class="plots">` +
    `<figure>${histogramSvg(values, { id: `${id}-hist`, title: `Latency histogram: ${name}`, markers })}<figcaption>How many keys took how long (bars); lines: p50 (solid), p95 (dashed), p99 (dotted).</figcaption></figure>` +
    `<figure>${latencyOverTimeSvg(samples.points, { id: `${id}-time`, title: `Latency over time: ${name}`, markers: markers.filter((m) => m.label !== 'p95') })}<figcaption>Each dot is one key or button transition; lines: p50 (solid) and p99 (dashed).</figcaption></figure>` +
    `</div><details class="data"><summary>Histogram as a table</summary>${table({ head: ['Latency', 'Keys'], rows: binRows, numeric: [1] })}</details>`
  );
}

function pointerBlock(suite: SuiteReport): string {
  const p = suite.pointer;
  if (p === undefined) return '';
  const over = p.maxErrorPx > p.tolerancePx;
  const max: Raw = raw(`${text(formatPx(p.maxErrorPx))} ${over ? badge('fail', 'over tolerance').html : badge('pass', 'within tolerance').html}`);
  return `<h4>Pointer</h4>${facts([
    ['positions checked', p.samples],
    ['max error', max],
    ['mean error', formatPx(p.meanErrorPx)],
    ['tolerance', formatPx(p.tolerancePx)],
  ])}`;
}

function devicesBlock(suite: SuiteReport): string {
  const devices = suite.devices ?? [];
  const problems = suite.agentProblems ?? [];
  let out = '';
  if (devices.length > 0) {
    const rows = devices.map((d): Cell[] => [d.id, d.name, d.kind, d.events, [d.added === true ? 'added' : '', d.removed === true ? 'removed' : ''].filter((w) => w !== '').join(', ') || undefined]);
    out += `<h4>Input devices</h4>${table({ head: ['Device', 'Name', 'Kind', 'Events', 'Hotplug'], rows, numeric: [3], rowHeaders: true })}`;
  }
  if (problems.length > 0) {
    const rows = problems.map((p): Cell[] => [p.code, p.message, p.resolved ? badge('pass', 'resolved') : badge('error', 'open')]);
    out += `<h4>Agent problems</h4>${table({ head: ['Code', 'Message', 'State'], rows, rowHeaders: true })}`;
  }
  return out;
}

export function suiteSection(suite: SuiteReport, o: SuiteSectionOptions): string {
  const id = suiteAnchor(o.index);
  const t = suite.target;
  const where = facts([
    ['source', suite.source],
    ['VM', t.vm],
    ['host', t.host],
    ['injector', t.injector],
    ['input device', t.inputDevice],
    ['layout', t.layout],
    ['observer', `${suite.observer.kind}${suite.observer.id === undefined ? '' : ` ${suite.observer.id}`}`],
    ['round', suite.round],
    ['duration', formatDuration(suite.durationMs)],
  ].filter(([, v]) => v !== undefined) as [string, Cell][]);
  const error = suite.error === undefined ? '' : `<p class="error-box"><strong>${text(suite.error.code)}</strong>: ${text(suite.error.message)}</p>`;
  const body = [
    where,
    error,
    countsTable(suite),
    latencyBlock(suite, id),
    pointerBlock(suite),
    findingsTable('Findings', failingFindings(suite), o, 'fail'),
    findingsTable('Notes', noteFindings(suite), o, 'note'),
    devicesBlock(suite),
  ].join('\n');
  return (
    `<section class="suite v-${suite.verdict}" id="${id}" aria-labelledby="${id}-h">` +
    `<details${o.open ? ' open' : ''}><summary><h3 id="${id}-h">${badge(suite.verdict, suite.verdict.toUpperCase()).html} ${text(suite.name)} <span class="where">${text(suiteWhere(suite))}</span></h3></summary>` +
    `<div class="suite-body">${body}</div></details></section>`
  );
}
