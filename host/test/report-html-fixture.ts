/**
 * Reports for the HTML report tests (strings and Chromium): the shared
 * fixture suites (report-fixture.ts) plus latency samples with a long tail,
 * hostile strings in every field a person could control (suite and VM names,
 * finding messages, error messages, agent problems), a fleet with every
 * outcome, and the host's load. Built with the real buildReport, so valid.
 */
import type { LatencySamples, ReportV1, SuiteReport } from '@atp/protocol';
import { buildReport, buildFleetSummary } from '../src/report/index.js';
import { erroredSuite, failingSuite, fleetSuite, passingSuite } from './report-fixture.js';

export const SCRIPT = '<script>document.title="pwned"</script>';
export const IMG = '<img src="http://127.0.0.1:9/x.png" onerror="alert(1)">';

/** Deterministic latencies: 2–5 ms for most keys, a few slow ones, and one 80 ms stall in the middle. */
export function samples(n = 400, seed = 7): LatencySamples {
  let s = seed;
  const rnd = (): number => {
    s = (s * 48271) % 2147483647;
    return s / 2147483647;
  };
  const points: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const slow = rnd() < 0.04 ? 6 + rnd() * 12 : 0;
    points.push([Math.round(i * 30 * 10) / 10, Math.round((2 + rnd() * 3 + slow) * 1000) / 1000]);
  }
  const mid = points[Math.floor(n / 2)];
  if (mid !== undefined) mid[1] = 80;
  return { total: n, points };
}

export function suiteWithSamples(): SuiteReport {
  return { ...passingSuite(), latencySamples: samples() };
}

/** A failing suite whose strings try to inject markup. */
export function hostileSuite(): SuiteReport {
  const base = failingSuite();
  return {
    ...base,
    name: `typing ${SCRIPT}`,
    target: { ...base.target, vm: `vm-"${IMG}"` },
    findings: [
      ...base.findings,
      { kind: 'wrongText', step: 2, message: `typed ${SCRIPT}`, expected: { text: SCRIPT }, observed: { text: IMG } },
    ],
    counts: { ...base.counts, wrongText: 1 },
    agentProblems: [{ code: 'ATP_AGENT_CAPTURE', message: IMG, resolved: false }],
  };
}

export function htmlReport(): ReportV1 {
  return buildReport([suiteWithSamples(), hostileSuite(), erroredSuite()], {
    startedAt: new Date('2025-01-02T03:04:05.000Z'),
    finishedAt: '2025-01-02T03:05:25.500Z',
    version: '0.1.0',
    host: { eventLoopDelay: { p50Ms: 10.1, p99Ms: 21.3, maxMs: 45 }, cpuPercent: 63, maxRssMb: 212 },
  });
}

const SLOW = { n: 200, p50Ms: 3.6, p95Ms: 9.8, p99Ms: 16.2, maxMs: 80, clockOffsetMs: 1.2, clockUncertaintyMs: 0.3 };

/** Three VMs, four rounds: one passes, one fails, one could not boot. */
export function fleetHtmlReport(): ReportV1 {
  const suites = [1, 2, 3, 4].flatMap((round) => [
    { ...fleetSuite('vm-01', round), latencySamples: samples(300, round) },
    { ...fleetSuite('vm-02', round, failingSuite()), latency: SLOW, latencySamples: samples(200, round + 10) },
  ]);
  const fleet = buildFleetSummary({
    targets: [
      { vm: 'vm-01', outcome: 'passed', rounds: 4, openMs: 41_000 },
      { vm: 'vm-02', outcome: 'failed', rounds: 4, openMs: 44_000 },
      { vm: 'vm-03', outcome: 'infra-error', rounds: 0, error: { code: 'ATP_LAB_BOOT', message: `no agent within 240 s ${SCRIPT}` } },
    ],
    suites,
    concurrency: 2,
    rounds: 4,
    onFailure: 'continue',
    wallMs: 80_500,
  });
  return buildReport(suites, { startedAt: '2025-01-02T03:04:05.000Z', finishedAt: '2025-01-02T03:05:25.500Z', version: '0.1.0', fleet });
}
