/**
 * The terminal summary of a run: per suite a one-line verdict, the non-zero
 * counts, latency with its clock uncertainty, pointer error, and the findings
 * (capped per suite), then a totals line. Pure: the CLI decides `color` from
 * isTTY and NO_COLOR; with color false the text holds no escape codes at all.
 *
 * A run over several VMs or rounds (report.fleet, see isFleetRun) adds the
 * round to each suite's line and, after the suites' totals, the fleet block
 * (fleet-text.ts). With more than FLEET_DETAIL_LIMIT suite reports only the
 * ones that did not pass are shown in detail, the passing ones as one count.
 * Without a fleet, or with one VM and one round, the output is as before.
 */
import type { ReportV1, SuiteReport } from '@atp/protocol';
import { failingFindings, formatCounts, formatDuration, formatFinding, formatMs, formatPx, noteFindings, printable, verdictWord, type Paint, type PaintStyle } from './format.js';
import { fleetBlockLines, isFleetRun } from './fleet-text.js';

export interface SummaryOptions {
  color: boolean;
  /** Cut lines to this many columns (with …); none when absent. */
  width?: number;
  /** Findings listed per suite before "… and M more" (default 10); also VM errors in the fleet block. */
  maxFindings?: number;
}

/** Suite reports of a fleet run shown in detail when there are at most this many; past it only those that did not pass. */
export const FLEET_DETAIL_LIMIT = 8;

const ESC = '\u001b[';
const RESET = `${ESC}0m`;
const STYLE = {
  pass: `${ESC}1;32m`,
  fail: `${ESC}1;31m`,
  error: `${ESC}1;35m`,
  bold: `${ESC}1m`,
  dim: `${ESC}2m`,
} as const satisfies Record<PaintStyle, string>;

const INDENT = '       ';

/** Splits a line into visible characters and our escape codes (ESC [ ... m), in order. */
function tokens(line: string): { text: string; visible: boolean }[] {
  const out: { text: string; visible: boolean }[] = [];
  const chars = [...line];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '\u001b') {
      const end = chars.indexOf('m', i);
      const stop = end < 0 ? chars.length - 1 : end;
      out.push({ text: chars.slice(i, stop + 1).join(''), visible: false });
      i = stop;
    } else out.push({ text: chars[i] ?? '', visible: true });
  }
  return out;
}

/** Cuts a line to `width` visible columns with an ellipsis; our escape codes take no room. */
function fit(line: string, width: number | undefined, color: boolean): string {
  if (width === undefined || width <= 0) return line;
  const parts = tokens(line);
  if (parts.filter((t) => t.visible).length <= width) return line;
  let visible = 0;
  let out = '';
  for (const t of parts) {
    if (!t.visible) out += t.text;
    else if (visible < width - 1) {
      out += t.text;
      visible += 1;
    } else break;
  }
  return `${out}…${color ? RESET : ''}`;
}

function latencyLine(l: NonNullable<SuiteReport['latency']>): string {
  if (l.n === 0) return 'latency: no samples';
  return (
    `latency p50 ${formatMs(l.p50Ms)}, p95 ${formatMs(l.p95Ms)}, p99 ${formatMs(l.p99Ms)}, max ${formatMs(l.maxMs)}` +
    ` (±${formatMs(l.clockUncertaintyMs)} clock, n=${l.n})`
  );
}

function pointerLine(p: NonNullable<SuiteReport['pointer']>, paint: Paint): string {
  const max = `max error ${formatPx(p.maxErrorPx)}`;
  const over = p.maxErrorPx > p.tolerancePx;
  return `pointer ${over ? paint('fail', max) : max}, mean ${formatPx(p.meanErrorPx)} (tolerance ${formatPx(p.tolerancePx)}, ${p.samples} samples)`;
}

/** "input via: AT Translated Set 2 keyboard (event1) 740 events, …; hotplug: +event9 -event9" */
function devicesLine(devices: NonNullable<SuiteReport['devices']>): string | undefined {
  const used = devices.filter((d) => d.events > 0).map((d) => `${printable(d.name ?? d.id)} (${printable(d.id)}) ${plural(d.events, 'event')}`);
  const plugged = devices.flatMap((d) => [...(d.added === true ? [`+${d.id}`] : []), ...(d.removed === true ? [`-${d.id}`] : [])]);
  if (used.length === 0 && plugged.length === 0) return undefined;
  return [used.length === 0 ? 'input via: no device' : `input via: ${used.join(', ')}`, ...(plugged.length === 0 ? [] : [`hotplug: ${plugged.join(' ')}`])].join('; ');
}

function suiteLines(suite: SuiteReport, paint: Paint, maxFindings: number): string[] {
  const word = verdictWord(suite.verdict).padEnd(INDENT.length - 1);
  const where = [suite.source, suite.round === undefined ? undefined : `round ${suite.round}`, `vm ${suite.target.vm}${suite.target.host === undefined ? '' : ` on ${suite.target.host}`}`, `observer ${suite.observer.kind}${suite.observer.id === undefined ? '' : ` ${suite.observer.id}`}`];
  const head = `${paint(suite.verdict, word)} ${paint('bold', printable(suite.name))}  ${where.filter((w) => w !== undefined).map(printable).join(' · ')}  ${formatDuration(suite.durationMs)}`;
  const lines = [head];
  if (suite.error !== undefined) lines.push(`${INDENT}${paint('error', suite.error.code)}: ${printable(suite.error.message)}`);
  lines.push(`${INDENT}${formatCounts(suite.counts)}`);
  if (suite.latency !== undefined) lines.push(`${INDENT}${latencyLine(suite.latency)}`);
  if (suite.pointer !== undefined) lines.push(`${INDENT}${pointerLine(suite.pointer, paint)}`);
  const input = devicesLine(suite.devices ?? []);
  if (input !== undefined) lines.push(`${INDENT}${input}`);
  for (const p of suite.agentProblems ?? []) lines.push(`${INDENT}agent ${p.resolved ? 'reported (resolved)' : 'reports'} ${p.code}: ${printable(p.message)}`);
  const groups: [string, ReturnType<typeof failingFindings>][] = [
    ['findings', failingFindings(suite)],
    ['notes', noteFindings(suite)],
  ];
  for (const [label, findings] of groups) {
    if (findings.length === 0) continue;
    lines.push(`${INDENT}${label} (${findings.length}):`);
    for (const f of findings.slice(0, maxFindings)) lines.push(`${INDENT}  ${formatFinding(f)}`);
    if (findings.length > maxFindings) lines.push(`${INDENT}  … and ${findings.length - maxFindings} more`);
  }
  return lines;
}

/** "PASS   42 passing suite reports not listed: smoke ×21, typing ×21" */
function passingCountLine(suites: readonly SuiteReport[], paint: Paint): string {
  const passing = suites.filter((s) => s.verdict === 'pass');
  const byName = new Map<string, number>();
  for (const s of passing) byName.set(s.name, (byName.get(s.name) ?? 0) + 1);
  const names = [...byName].map(([name, n]) => `${printable(name)} ×${n}`).join(', ');
  const word = verdictWord('pass').padEnd(INDENT.length - 1);
  return `${paint('pass', word)} ${plural(passing.length, 'passing suite report')} not listed${names === '' ? '' : `: ${names}`}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The whole summary, one line per fact, ending with a newline. */
export function formatSummary(report: ReportV1, options: SummaryOptions): string {
  const paint: Paint = options.color ? (style, text) => `${STYLE[style]}${text}${RESET}` : (_style, text) => text;
  const maxFindings = Math.max(0, options.maxFindings ?? 10);
  const lines: string[] = [];
  const fleet = isFleetRun(report) ? report.fleet : undefined;
  const condensed = fleet !== undefined && report.suites.length > FLEET_DETAIL_LIMIT;
  for (const suite of report.suites) if (!condensed || suite.verdict !== 'pass') lines.push(...suiteLines(suite, paint, maxFindings));
  if (condensed && report.suites.some((s) => s.verdict === 'pass')) lines.push(passingCountLine(report.suites, paint));
  const by = (v: SuiteReport['verdict']): number => report.suites.filter((s) => s.verdict === v).length;
  const elapsed = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  const total = `${plural(report.suites.length, 'suite')}: ${by('pass')} passed, ${by('fail')} failed, ${plural(by('error'), 'error')} (${formatDuration(elapsed)})`;
  const overall = by('error') > 0 ? 'error' : by('fail') > 0 || report.suites.length === 0 ? 'fail' : 'pass';
  if (lines.length > 0) lines.push('');
  lines.push(`${paint(overall, verdictWord(overall))} ${total}`);
  if (fleet !== undefined) lines.push('', ...fleetBlockLines(fleet, report.host, paint, maxFindings));
  return lines.map((l) => fit(l, options.width, options.color)).join('\n') + '\n';
}
