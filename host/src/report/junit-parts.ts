/**
 * Pieces shared by the two JUnit layouts (junit.ts: one <testsuite> per suite
 * report; junit-fleet.ts: one per VM): seconds as JUnit writes them, the
 * <failure>/<error> element for a list of findings, a suite report's
 * <properties>, its figures for <system-out>, and the failure or error a
 * suite report's verdict calls for.
 */
import type { Finding, SuiteReport } from '@atp/protocol';
import { failingFindings, formatCounts, formatFinding, formatMs, formatPx, noteFindings } from './format.js';
import type { XmlElement } from './xml.js';

export const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);

export function failureElement(name: 'failure' | 'error', findings: readonly Finding[], type: string, message?: string): XmlElement {
  const lines = findings.map(formatFinding);
  const first = message ?? lines[0] ?? '';
  const more = message === undefined && findings.length > 1 ? ` (and ${findings.length - 1} more)` : '';
  const body = message === undefined ? lines : [message, ...lines];
  return { name, attrs: { type, message: `${first}${more}` }, children: body.length > 0 ? [body.join('\n')] : [] };
}

export const kindsOf = (findings: readonly Finding[]): string => [...new Set(findings.map((f) => f.kind))].join(',');

/** <properties> from name/value pairs; undefined values are left out. */
export function propertiesElement(props: ReadonlyArray<readonly [string, string | number | undefined]>): XmlElement {
  return {
    name: 'properties',
    children: props.filter(([, v]) => v !== undefined).map(([name, value]) => ({ name: 'property', attrs: { name, value } })),
  };
}

export function suiteProperties(suite: SuiteReport): XmlElement {
  return propertiesElement([
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
  ]);
}

/** Counts, latency, pointer error and notes of a suite report, one per line. */
export function figures(suite: SuiteReport): string {
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

/**
 * The <error> (verdict 'error', with the suite's error code) or <failure> for
 * `findings` of a suite; a failed suite without findings still gets a failure
 * naming its counts. Nothing for a passing suite with no failing findings.
 */
export function verdictElement(suite: SuiteReport, findings: readonly Finding[]): XmlElement | undefined {
  if (suite.verdict === 'error') {
    const e = suite.error ?? { code: 'error', message: 'the suite could not run to the end' };
    return failureElement('error', findings, e.code, `${e.code}: ${e.message}`);
  }
  if (findings.length > 0) return failureElement('failure', findings, kindsOf(findings));
  if (suite.verdict === 'fail' && failingFindings(suite).length === 0) return failureElement('failure', [], 'fail', `suite failed (${formatCounts(suite.counts)})`);
  return undefined;
}

/** How many of `cases` hold a child element named `tag`. */
export function countWith(cases: readonly XmlElement[], tag: string): number {
  return cases.filter((c) => c.children?.some((ch) => typeof ch !== 'string' && ch.name === tag)).length;
}
