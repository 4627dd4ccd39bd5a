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
