/**
 * The fleet block of the terminal summary: a header (VMs, concurrency, rounds,
 * failure policy), a per-VM table with failures first, the errors of the VMs
 * that have one, a totals line, and the host's load. Also the totals text on
 * its own, which the CI-log event lines reuse. Pure; colour only through the
 * Paint the caller passes.
 */
import type { FleetSummary, FleetVm, HostLoad, ReportV1, VmOutcome } from '@atp/protocol';
import { formatDuration, formatKeysPerSecond, formatMs, noPaint, printable, type Paint, type PaintStyle } from './format.js';

const OUTCOME_ORDER: Readonly<Record<VmOutcome, number>> = { failed: 0, 'infra-error': 1, aborted: 2, 'not-run': 3, passed: 4 };
const OUTCOME_STYLE: Readonly<Record<VmOutcome, PaintStyle>> = { passed: 'pass', failed: 'fail', 'infra-error': 'error', aborted: 'error', 'not-run': 'dim' };

/** The report has a fleet over more than one VM or more than one round. */
export function isFleetRun(report: ReportV1): boolean {
  const f = report.fleet;
  if (f === undefined) return false;
  return f.vms.length > 1 || (f.rounds ?? 1) > 1 || f.vms.some((v) => v.rounds > 1) || report.suites.some((s) => (s.round ?? 1) > 1);
}

/** Failures first (failed, infra-error, aborted, not-run, passed), then by name with numbers in order (lab-2 before lab-10). */
export function compareFleetVms(a: FleetVm, b: FleetVm): number {
  return OUTCOME_ORDER[a.outcome] - OUTCOME_ORDER[b.outcome] || a.vm.localeCompare(b.vm, 'en', { numeric: true });
}

/** PASS when every VM passed, ERROR when one could not be verified or the run stopped early, else FAIL. */
export function fleetVerdict(fleet: FleetSummary): 'pass' | 'fail' | 'error' {
  if (fleet.infraError + fleet.aborted + fleet.notRun > 0 || fleet.stopped !== undefined) return 'error';
  return fleet.failed > 0 || fleet.vms.length === 0 ? 'fail' : 'pass';
}

/** "3 VMs: 1 passed, 1 failed, 1 infra-error, 0 aborted, 0 not-run · 3600 keys · 45.0 keys/s · worst p99 15.0 ms (lab-02) · stopped (fail-fast): …" */
export function fleetTotalsText(fleet: FleetSummary, paint: Paint = noPaint): string {
  const n = (count: number, word: string, style: PaintStyle): string => (count > 0 ? paint(style, `${count} ${word}`) : `${count} ${word}`);
  const outcomes = [n(fleet.passed, 'passed', 'pass'), n(fleet.failed, 'failed', 'fail'), n(fleet.infraError, 'infra-error', 'error'), n(fleet.aborted, 'aborted', 'error'), n(fleet.notRun, 'not-run', 'dim')];
  const parts = [`${fleet.vms.length} VM${fleet.vms.length === 1 ? '' : 's'}: ${outcomes.join(', ')}`, `${fleet.totalKeys} keys`, formatKeysPerSecond(fleet.keysPerSecond)];
  if (fleet.worstP99 !== undefined) parts.push(`worst p99 ${formatMs(fleet.worstP99.p99Ms)} (${printable(fleet.worstP99.vm)})`);
  if (fleet.stopped !== undefined) parts.push(`stopped (${fleet.stopped.reason}): ${printable(fleet.stopped.message)}`);
  return parts.join(' · ');
}

/** "host: event-loop delay p99 12.0 ms, max 40.0 ms · CPU 85% · max RSS 312 MB" */
export function hostLoadText(host: HostLoad): string {
  const d = host.eventLoopDelay;
  const parts = [`host: event-loop delay p99 ${formatMs(d.p99Ms)}, max ${formatMs(d.maxMs)}`];
  if (host.cpuPercent !== undefined) parts.push(`CPU ${Math.round(host.cpuPercent)}%`);
  if (host.maxRssMb !== undefined) parts.push(`max RSS ${Math.round(host.maxRssMb)} MB`);
  return parts.join(' · ');
}

function fleetHeader(fleet: FleetSummary): string {
  const parts = [`fleet: ${fleet.vms.length} VM${fleet.vms.length === 1 ? '' : 's'}`, `concurrency ${fleet.concurrency}`];
  if (fleet.rounds !== undefined) parts.push(`${fleet.rounds} round${fleet.rounds === 1 ? '' : 's'}`);
  if (fleet.durationMs !== undefined) parts.push(`for ${formatDuration(fleet.durationMs)}`);
  parts.push(`on failure ${fleet.onFailure}`);
  return parts.join(', ');
}

const width = (text: string): number => [...text].length;
const padEnd = (text: string, to: number): string => text + ' '.repeat(Math.max(0, to - width(text)));
const padStart = (text: string, to: number): string => ' '.repeat(Math.max(0, to - width(text))) + text;

const HEAD = ['VM', 'OUTCOME', 'ROUNDS', 'KEYS', 'DEFECTS', 'P50', 'P99', 'ERROR'] as const;
/** Columns written right-aligned (numbers). */
const RIGHT = new Set([2, 3, 4, 5, 6]);
const TABLE_INDENT = '  ';

function tableLines(vms: readonly FleetVm[], paint: Paint): string[] {
  const ms = (v: number | undefined): string => (v === undefined ? '-' : formatMs(v));
  const rows = vms.map((v) => [printable(v.vm), v.outcome, String(v.rounds), String(v.keys), String(v.defects), ms(v.p50Ms), ms(v.p99Ms), printable(v.error?.code ?? '')]);
  const widths = HEAD.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[], style?: (i: number, padded: string) => string): string =>
    TABLE_INDENT +
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : RIGHT.has(i) ? padStart(c, widths[i] ?? 0) : padEnd(c, widths[i] ?? 0);
        return style === undefined ? padded : style(i, padded);
      })
      .join('  ')
      .trimEnd();
  const out = [line(HEAD, (_i, p) => paint('bold', p))];
  vms.forEach((v, r) => {
    out.push(
      line(rows[r] ?? [], (i, p) => {
        if (i === 1) return paint(OUTCOME_STYLE[v.outcome], p);
        if (i === 4 && v.defects > 0) return paint('fail', p);
        return p;
      }),
    );
  });
  return out;
}

/** The fleet block, one line per fact: header, table, VM errors (at most maxErrors), totals, host load. */
export function fleetBlockLines(fleet: FleetSummary, host: HostLoad | undefined, paint: Paint, maxErrors: number): string[] {
  const vms = [...fleet.vms].sort(compareFleetVms);
  const lines = [paint('bold', fleetHeader(fleet)), ...tableLines(vms, paint)];
  const withError = vms.filter((v) => v.error !== undefined);
  for (const v of withError.slice(0, maxErrors)) lines.push(`${TABLE_INDENT}${printable(v.vm)}: ${paint(OUTCOME_STYLE[v.outcome], printable(v.error?.code ?? ''))}: ${printable(v.error?.message ?? '')}`);
  if (withError.length > maxErrors) lines.push(`${TABLE_INDENT}… and ${withError.length - maxErrors} more VM errors`);
  const verdict = fleetVerdict(fleet);
  lines.push(`${paint(verdict, verdict.toUpperCase())} ${fleetTotalsText(fleet, paint)}`);
  if (host !== undefined) lines.push(hostLoadText(host));
  return lines;
}
