/**
 * Small text helpers shared by the report writers: numbers and durations for
 * humans, findings as one readable line, which findings fail a suite, and
 * making text from the guest safe to print (an observed key or text event may
 * carry control characters; a terminal must never receive a raw ESC from it).
 */
import { REPORT_COUNT_KEYS, type Finding, type SuiteReport } from '@atp/protocol';

/** Control characters and bidi overrides, shown escaped instead of printed. */
const UNSAFE = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;

/** Text safe for a terminal or a one-line field: controls become \n, \t, \u001b. */
export function printable(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    if (ch === '\n') return '\\n';
    if (ch === '\t') return '\\t';
    if (ch === '\r') return '\\r';
    return `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
  });
}

/** A latency or small duration: "0.42 ms", "3.7 ms", "118 ms". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return `${ms} ms`;
  const abs = Math.abs(ms);
  const digits = abs < 1 ? 2 : abs < 100 ? 1 : 0;
  return `${ms.toFixed(digits)} ms`;
}

/** A run or suite duration: "850 ms", "12.3 s", "2 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalS = Math.round(ms / 1000);
  if (totalS < 3600) return `${Math.floor(totalS / 60)} min ${String(totalS % 60).padStart(2, '0')} s`;
  const totalMin = Math.floor(totalS / 60);
  return `${Math.floor(totalMin / 60)} h ${String(totalMin % 60).padStart(2, '0')} min`;
}

/** Pixels, one decimal when not whole. */
export function formatPx(px: number): string {
  return `${Number.isInteger(px) ? px : px.toFixed(1)} px`;
}

/** "expected 4400, matched 4390, missing 4, duplicate 6": every non-zero count, in report order. */
export function formatCounts(counts: SuiteReport['counts']): string {
  const parts = REPORT_COUNT_KEYS.filter((k) => counts[k] !== 0).map((k) => `${k} ${counts[k]}`);
  return parts.length === 0 ? 'nothing counted' : parts.join(', ');
}

/**
 * One finding as a line: "step 3: KEY_E pressed twice (seq 41, 43): doubled character".
 * Steps are the top-level step index from 0, as in the loader's `steps[3]`. The
 * verify engine's messages may end in "at step N"; that is dropped here since
 * the line starts with it. A wrong key gets the layout hint when it lacks one.
 */
export function formatFinding(finding: Finding): string {
  let text = finding.message.trim();
  if (finding.step !== undefined) text = text.replace(new RegExp(` at step ${finding.step}(?!\\d)`, 'g'), '');
  if (text === '') text = fallbackMessage(finding);
  if (finding.kind === 'wrongKey' && !/layout/i.test(text)) text += ' — layout mismatch?';
  const prefix = finding.step === undefined ? '' : `step ${finding.step}: `;
  return printable(`${prefix}${text}`);
}

function fallbackMessage(f: Finding): string {
  const side = (o: Record<string, unknown> | undefined): string => (o === undefined ? '' : JSON.stringify(o));
  const parts = [f.kind, f.expected === undefined ? '' : `expected ${side(f.expected)}`, f.observed === undefined ? '' : `observed ${side(f.observed)}`];
  return parts.filter((p) => p !== '').join(', ');
}

/**
 * The findings that fail the suite. 'error' findings are notes (a clock warning)
 * while other findings exist or the suite passed; when a failed suite has only
 * 'error' findings, they are the reason it failed ("nothing to verify").
 */
export function failingFindings(suite: SuiteReport): Finding[] {
  if (suite.verdict === 'pass') return [];
  const defects = suite.findings.filter((f) => f.kind !== 'error');
  return defects.length > 0 ? defects : suite.findings;
}

/** Findings that are only notes (see failingFindings). */
export function noteFindings(suite: SuiteReport): Finding[] {
  const failing = new Set(failingFindings(suite));
  return suite.findings.filter((f) => !failing.has(f));
}

/** "PASS", "FAIL", "ERROR". */
export function verdictWord(verdict: SuiteReport['verdict']): string {
  return verdict.toUpperCase();
}

/** The styles the terminal writers use; a Paint applies one (or nothing, without colour). */
export type PaintStyle = 'pass' | 'fail' | 'error' | 'bold' | 'dim';
export type Paint = (style: PaintStyle, text: string) => string;
export const noPaint: Paint = (_style, text) => text;

/** A rate: "211 keys/s", "45.3 keys/s", "0.25 keys/s". */
export function formatKeysPerSecond(rate: number): string {
  if (!Number.isFinite(rate) || rate < 0) return '? keys/s';
  const digits = rate >= 100 || rate === 0 ? 0 : rate >= 1 ? 1 : 2;
  return `${rate.toFixed(digits)} keys/s`;
}
