import { describe, expect, it } from 'vitest';
import type { AtpError } from '../src/errors.js';
import { FINDING_KINDS, REPORT_COUNT_KEYS, parseReport } from '../src/report.js';
import type { ReportV1, SuiteReport } from '../src/report.js';
import type { ValidationIssue } from '../src/validate.js';

const counts = Object.fromEntries(REPORT_COUNT_KEYS.map((k) => [k, 0])) as SuiteReport['counts'];

const suite: SuiteReport = {
  name: 'login',
  source: 'scenarios/login.yaml',
  target: { vm: 'lab', injector: 'qmp', layout: 'us' },
  observer: { kind: 'agent', id: 'a1' },
  verdict: 'fail',
  durationMs: 1234.5,
  counts: { ...counts, expected: 10, matched: 8, missing: 1, unexpectedRepeat: 1 },
  findings: [
    { kind: 'missing', step: 2, expected: { key: 'KEY_A', action: 'down' }, message: 'KEY_A down never arrived' },
    { kind: 'unexpectedRepeat', step: 3, observed: { key: 'KEY_B', action: 'repeat', t: 812.25 }, message: 'autorepeat of KEY_B' },
    { kind: 'pointer-error', message: 'pointer 5 px off' },
  ],
  pointer: { samples: 4, maxErrorPx: 5, meanErrorPx: 1.25, tolerancePx: 2 },
  latency: { n: 8, p50Ms: 3.7, p95Ms: 11.8, p99Ms: 12.1, maxMs: 12.5, clockOffsetMs: -1523.4, clockUncertaintyMs: 0.4 },
};

const report: ReportV1 = {
  version: 1,
  tool: { name: 'atp', version: '0.1.0' },
  startedAt: '2025-01-02T03:04:05.678Z',
  finishedAt: '2025-01-02T03:04:07+01:00',
  suites: [suite, { ...suite, name: 'broken', verdict: 'error', findings: [], pointer: undefined, latency: undefined, error: { code: 'ATP_QMP_CONNECT', message: 'no socket' } }],
};

function caught(fn: () => unknown): AtpError {
  try {
    fn();
  } catch (e) {
    return e as AtpError;
  }
  throw new Error('expected a throw');
}

describe('parseReport', () => {
  it('accepts a full report and survives a JSON round trip', () => {
    const parsed = parseReport(JSON.parse(JSON.stringify(report)) as unknown, 'report.json');
    expect(parsed).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it('spells each problem finding exactly like its count key', () => {
    for (const kind of FINDING_KINDS) {
      if (!['pointer-error', 'timeout', 'error'].includes(kind)) expect(REPORT_COUNT_KEYS).toContain(kind);
    }
  });

  it('names the path of every kind of error', () => {
    const withSuite = (patch: Record<string, unknown>): unknown => ({ ...report, suites: [{ ...suite, ...patch }] });
    const cases: [unknown, string][] = [
      [{ ...report, version: 2 }, 'version: expected 1, got 2'],
      [{ ...report, tool: { name: 'other', version: '1' } }, 'tool.name: '],
      [{ ...report, startedAt: 'yesterday' }, 'startedAt: '],
      [withSuite({ verdict: 'maybe' }), 'suites[0].verdict: '],
      [withSuite({ counts: { ...counts, missing: -1 } }), 'suites[0].counts.missing: '],
      [withSuite({ counts: { ...counts, stuck: undefined } }), 'suites[0].counts.stuck: missing'],
      [withSuite({ findings: [{ kind: 'wrong-key', message: 'm' }] }), 'suites[0].findings[0].kind: '],
      [withSuite({ findings: [{ kind: 'timeout' }] }), 'suites[0].findings[0].message: missing'],
      [withSuite({ findings: [{ kind: 'timeout', message: 'm', step: 1.5 }] }), 'suites[0].findings[0].step: '],
      [withSuite({ latency: { ...suite.latency, p95Ms: 'fast' } }), 'suites[0].latency.p95Ms: expected number, got string'],
      [withSuite({ pointer: { ...suite.pointer, samples: -1 } }), 'suites[0].pointer.samples: '],
      [withSuite({ observer: 'agent' }), 'suites[0].observer: expected object, got string'],
      [withSuite({ surprise: true }), 'suites[0].surprise: unknown field'],
    ];
    for (const [value, text] of cases) {
      const err = caught(() => parseReport(value, 'report.json'));
      expect(err.code).toBe('ATP_SCHEMA_INVALID');
      expect(err.message, text).toContain(text);
      expect(err.message).toMatch(/^report\.json: invalid report: /);
      expect((err.details['issues'] as ValidationIssue[]).length).toBeGreaterThan(0);
    }
  });
});
