/**
 * A run report for the report tests: a passing suite with latency, pointer and
 * a clock note; a failing one with step findings, a whole-run finding and
 * messages that need escaping (<>&"' and an ESC from the guest); one that
 * could not run. Built with the real buildReport, so it is schema-valid.
 */
import type { Finding, ReportCounts, ReportV1, SuiteReport } from '@atp/protocol';
import { REPORT_COUNT_KEYS } from '@atp/protocol';
import { buildReport } from '../src/report/index.js';

export const zeroCounts = (): ReportCounts => Object.fromEntries(REPORT_COUNT_KEYS.map((k) => [k, 0])) as ReportCounts;

export const NASTY = 'typed <b> & "quotes" \'n\' \u001b[31m';

export function passingSuite(): SuiteReport {
  return {
    name: 'smoke',
    source: 'scenarios/smoke.yaml',
    target: { vm: 'lab', injector: 'qmp', layout: 'us' },
    observer: { kind: 'agent' },
    verdict: 'pass',
    durationMs: 12_345,
    counts: { ...zeroCounts(), expected: 400, matched: 400 },
    findings: [{ kind: 'error', message: 'clock offset uncertain: latencies may be off by 3 ms' }],
    latency: { n: 400, p50Ms: 3.71, p95Ms: 11.84, p99Ms: 15, maxMs: 21.5, clockOffsetMs: -2.5, clockUncertaintyMs: 0.4 },
    pointer: { samples: 5, maxErrorPx: 1, meanErrorPx: 0.4, tolerancePx: 2 },
  };
}

export function failingSuite(extraFindings = 0): SuiteReport {
  const findings: Finding[] = [
    { kind: 'duplicate', step: 3, message: 'KEY_E pressed twice (seq 41, 43): doubled character at step 3', observed: { key: 'KEY_E', seqs: [41, 43] } },
    { kind: 'wrongKey', step: 3, message: 'expected KEY_Z, got KEY_Y (seq 50) at step 3', expected: { key: 'KEY_Z' }, observed: { key: 'KEY_Y' } },
    { kind: 'missing', step: 7, message: NASTY },
    { kind: 'stuck', message: 'KEY_LEFTSHIFT still held at the end (down at seq 99)' },
  ];
  for (let i = 0; i < extraFindings; i++) findings.push({ kind: 'extra', step: 9, message: `KEY_Q press observed but never sent (seq ${200 + i})` });
  return {
    name: 'layout <de> & "more"',
    target: { vm: 'lab', host: 'qa-host-1' },
    observer: { kind: 'web', id: 'page-1' },
    verdict: 'fail',
    durationMs: 800,
    counts: { ...zeroCounts(), expected: 900, matched: 895, duplicate: 1, wrongKey: 1, missing: 1, stuck: 1, extra: extraFindings },
    findings,
    pointer: { samples: 2, maxErrorPx: 7.5, meanErrorPx: 4, tolerancePx: 2 },
  };
}

export function erroredSuite(): SuiteReport {
  return {
    name: 'stress',
    source: 'scenarios/stress.yaml',
    target: { vm: 'lab' },
    observer: { kind: 'agent' },
    verdict: 'error',
    durationMs: 65_000,
    counts: { ...zeroCounts(), expected: 10, matched: 10 },
    findings: [],
    error: { code: 'ATP_QMP_DISCONNECTED', message: 'QMP closed while input-send-event was in flight' },
  };
}

export function sampleReport(suites: SuiteReport[] = [passingSuite(), failingSuite(), erroredSuite()]): ReportV1 {
  return buildReport(suites, { startedAt: new Date('2025-01-02T03:04:05.000Z'), finishedAt: '2025-01-02T03:05:25.500Z', version: '0.1.0' });
}

/** A suite report of one VM in one round of a fleet run (a copy of passingSuite or failingSuite, moved to `vm`). */
export function fleetSuite(vm: string, round: number | undefined, base: SuiteReport = passingSuite()): SuiteReport {
  return { ...base, target: { ...base.target, vm }, ...(round === undefined ? {} : { round }) };
}

/** An element of a document read by parseXmlStrict. */
export interface XNode {
  name: string;
  attrs: Record<string, string>;
  children: (XNode | string)[];
}

const XML_NAME = /^[A-Za-z_:][\w.:-]*/;
const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const XML_BAD_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function xmlDecode(raw: string, where: string): string {
  if (XML_BAD_CHAR.test(raw)) throw new Error(`forbidden character in ${where}`);
  if (raw.includes(']]>')) throw new Error(`"]]>" in ${where}`);
  return raw.replace(/&([^;]*);?/g, (m, ref: string) => {
    if (!m.endsWith(';')) throw new Error(`unterminated reference in ${where}`);
    if (ref in XML_ENTITIES) return XML_ENTITIES[ref] ?? '';
    const num = /^#(\d+)$/.exec(ref)?.[1] ?? (/^#x([0-9a-fA-F]+)$/.exec(ref) ? String(parseInt(ref.slice(2), 16)) : undefined);
    if (num === undefined) throw new Error(`bad reference &${ref}; in ${where}`);
    const ch = String.fromCodePoint(Number(num));
    if (XML_BAD_CHAR.test(ch)) throw new Error(`reference to a forbidden character in ${where}`);
    return ch;
  });
}

/**
 * Parses a whole XML 1.0 document strictly (no XML parser is installed): throws
 * on anything not well-formed (unbalanced tags, raw < or & in text, unquoted or
 * duplicate attributes, bad references, forbidden characters). The same reader
 * as in report-junit.test.ts, shared here for the fleet tests.
 */
export function parseXmlStrict(xml: string): XNode {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${i}: ${JSON.stringify(xml.slice(i, i + 30))}`);
  };
  const skipSpace = (): void => {
    while (/\s/.test(xml[i] ?? '')) i++;
  };
  const name = (): string => {
    const m = XML_NAME.exec(xml.slice(i));
    if (m === null) return fail('expected a name');
    i += m[0].length;
    return m[0];
  };
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (!/^<\?xml version="1\.0" encoding="UTF-8"\?>$/.test(xml.slice(0, end + 2))) fail('bad declaration');
    i = end + 2;
  }
  const element = (): XNode => {
    if (xml[i] !== '<') fail('expected <');
    i++;
    const node: XNode = { name: name(), attrs: {}, children: [] };
    for (;;) {
      const before = i;
      skipSpace();
      if (xml.startsWith('/>', i)) {
        i += 2;
        return node;
      }
      if (xml[i] === '>') break;
      if (i === before) fail('expected space before an attribute');
      const attr = name();
      if (xml[i] !== '=') fail('expected =');
      const quote = xml[i + 1];
      if (quote !== '"' && quote !== "'") fail('unquoted attribute');
      const end = xml.indexOf(quote ?? '"', i + 2);
      const raw = xml.slice(i + 2, end);
      if (end < 0 || raw.includes('<')) fail('bad attribute value');
      if (attr in node.attrs) fail(`duplicate attribute ${attr}`);
      node.attrs[attr] = xmlDecode(raw, `attribute ${attr}`);
      i = end + 1;
    }
    i++;
    for (;;) {
      const lt = xml.indexOf('<', i);
      if (lt < 0) fail('unclosed element');
      const text = xml.slice(i, lt);
      if (text.trim() !== '') node.children.push(xmlDecode(text, `text of ${node.name}`));
      i = lt;
      if (xml.startsWith('</', i)) {
        i += 2;
        if (name() !== node.name) fail(`mismatched end tag for ${node.name}`);
        skipSpace();
        if (xml[i] !== '>') fail('expected >');
        i++;
        return node;
      }
      if (xml.startsWith('<!', i) || xml.startsWith('<?', i)) fail('unsupported markup');
      node.children.push(element());
    }
  };
  skipSpace();
  const root = element();
  skipSpace();
  if (i !== xml.length) fail('content after the root element');
  return root;
}

/** Child elements named `name`. */
export const xmlKids = (n: XNode | undefined, name: string): XNode[] => (n?.children ?? []).filter((c): c is XNode => typeof c !== 'string' && c.name === name);
/** The text directly inside an element. */
export const xmlText = (n: XNode | undefined): string => n?.children.filter((c): c is string => typeof c === 'string').join('') ?? '';
