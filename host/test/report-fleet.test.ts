/**
 * The fleet part of the reports: the per-VM summary built from suite reports
 * (numbers checked by hand), the report carrying it (schema-valid, JSON round
 * trip, VMs that do not match refused), the fleet block of the terminal
 * summary, JUnit per VM (read back by the strict XML reader), and the live
 * fleet progress reducer and its line and CI-log formatters over a run's events.
 */
import { describe, expect, it } from 'vitest';
import { AtpError, parseReport, parseRunEvent, ReportV1Schema, type RunEvent, type RunEventInput, type SuiteReport } from '@atp/protocol';
import {
  buildFleetSummary,
  buildReport,
  FleetProgress,
  formatFleetEvent,
  formatFleetLine,
  formatSummary,
  suiteKeysAndDefects,
  TARGET_TESTCASE,
  toJsonReport,
  toJunitXml,
  type FleetInput,
} from '../src/report/index.js';
import { erroredSuite, failingSuite, fleetSuite, passingSuite, parseXmlStrict, sampleReport, xmlKids, xmlText, type XNode } from './report-fixture.js';

const ESC = '\u001b';
const strip = (text: string): string => text.split(ESC).map((part, i) => (i === 0 ? part : part.replace(/^\[[0-9;]*m/, ''))).join('');
const T0 = Date.parse('2025-01-02T03:04:05.000Z');
const HOST = { eventLoopDelay: { p50Ms: 1.5, p99Ms: 12, maxMs: 40 }, cpuPercent: 85.4, maxRssMb: 312.2 };

/** A latency-heavy passing suite: n=100, p50 10 ms, p99 40 ms. */
const slowSuite = (): SuiteReport => ({ ...passingSuite(), latency: { n: 100, p50Ms: 10, p95Ms: 30, p99Ms: 40, maxMs: 55, clockOffsetMs: 0, clockUncertaintyMs: 0.2 } });
/** failingSuite (4 problem counts, host qa-host-1, no latency) plus one pointer error. */
const pointerFailSuite = (): SuiteReport => {
  const base = failingSuite();
  return { ...base, findings: [...base.findings, { kind: 'pointer-error', step: 8, message: 'click landed 7.5 px off' }] };
};

function fleetInput(over: Partial<FleetInput> = {}): FleetInput {
  return {
    targets: [
      { vm: 'lab-01', outcome: 'passed', rounds: 2, openMs: 4200 },
      { vm: 'lab-2', outcome: 'failed', rounds: 2, openMs: 3900 },
      { vm: 'lab-10', outcome: 'infra-error', rounds: 0, error: { code: 'ATP_LAB_BOOT', message: 'QEMU exited <early> & "badly"' } },
      { vm: 'lab-3', outcome: 'not-run', rounds: 0 },
    ],
    suites: [fleetSuite('lab-01', 1), fleetSuite('lab-01', 2, slowSuite()), fleetSuite('lab-2', 1, pointerFailSuite()), fleetSuite('lab-2', 2)],
    concurrency: 2,
    rounds: 2,
    onFailure: 'continue',
    wallMs: 20_000,
    ...over,
  };
}

function fleetReport(input: FleetInput = fleetInput(), host = true) {
  return buildReport(input.suites, {
    startedAt: new Date(T0),
    finishedAt: new Date(T0 + 20_000),
    version: '0.1.0',
    fleet: buildFleetSummary(input),
    ...(host ? { host: HOST } : {}),
  });
}

const schemaErrorOf = (fn: () => unknown): AtpError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof AtpError) return error;
    throw error;
  }
  throw new Error('expected an AtpError');
};

describe('suiteKeysAndDefects', () => {
  it('keys are the expected transitions; defects every problem count plus pointer errors', () => {
    expect(suiteKeysAndDefects(passingSuite())).toEqual({ keys: 400, defects: 0 });
    expect(suiteKeysAndDefects(failingSuite(3))).toEqual({ keys: 900, defects: 7 });
    expect(suiteKeysAndDefects(pointerFailSuite())).toEqual({ keys: 900, defects: 5 });
  });
});

describe('buildFleetSummary', () => {
  const fleet = buildFleetSummary(fleetInput());

  it('per VM: suites, keys, defects, n-weighted p50, largest p99, open time and error', () => {
    const [a, b, c, d] = fleet.vms;
    expect(a).toMatchObject({ vm: 'lab-01', outcome: 'passed', rounds: 2, suites: 2, keys: 800, defects: 0, p99Ms: 40, openMs: 4200 });
    expect(a?.p50Ms).toBeCloseTo((400 * 3.71 + 100 * 10) / 500, 9);
    // The failing suite has no latency: only round 2 counts for the percentiles.
    expect(b).toMatchObject({ vm: 'lab-2', outcome: 'failed', suites: 2, keys: 1300, defects: 5, p50Ms: 3.71, p99Ms: 15 });
    expect(c).toEqual({ vm: 'lab-10', outcome: 'infra-error', rounds: 0, suites: 0, keys: 0, defects: 0, error: { code: 'ATP_LAB_BOOT', message: 'QEMU exited <early> & "badly"' } });
    expect(d).toEqual({ vm: 'lab-3', outcome: 'not-run', rounds: 0, suites: 0, keys: 0, defects: 0 });
  });

  it('totals: outcomes as given, keys, keys per second over the wall time, worst p99', () => {
    expect(fleet).toMatchObject({ passed: 1, failed: 1, infraError: 1, aborted: 0, notRun: 1, totalKeys: 2100, keysPerSecond: 105, worstP99: { vm: 'lab-01', p99Ms: 40 } });
    expect(fleet).toMatchObject({ concurrency: 2, rounds: 2, onFailure: 'continue' });
    expect(fleet.stopped).toBeUndefined();
    expect(buildFleetSummary(fleetInput({ wallMs: 0 })).keysPerSecond).toBe(0);
    expect(buildFleetSummary(fleetInput({ suites: [] })).worstP99).toBeUndefined();
  });

  it('the outcome is the engine’s: a VM with only passing suites stays aborted', () => {
    const f = buildFleetSummary({ targets: [{ vm: 'x', outcome: 'aborted', rounds: 1 }], suites: [fleetSuite('x', 1)], concurrency: 1, onFailure: 'stop-all', wallMs: 1000 });
    expect(f).toMatchObject({ aborted: 1, passed: 0, vms: [{ vm: 'x', outcome: 'aborted', suites: 1, keys: 400 }] });
  });

  it('a suite goes to "vm@host" when that is a target, else to "vm"', () => {
    const onHost = (host: string): SuiteReport => ({ ...passingSuite(), target: { vm: 'web', host } });
    const f = buildFleetSummary({
      targets: [
        { vm: 'web@a', outcome: 'passed', rounds: 1 },
        { vm: 'web@b', outcome: 'passed', rounds: 1 },
      ],
      suites: [onHost('a'), onHost('b'), onHost('b')],
      concurrency: 2,
      onFailure: 'continue',
      wallMs: 1000,
    });
    expect(f.vms.map((v) => [v.vm, v.suites])).toEqual([
      ['web@a', 1],
      ['web@b', 2],
    ]);
  });

  it('bad input: ATP_SCHEMA_INVALID naming the field', () => {
    const base = fleetInput();
    const dup = schemaErrorOf(() => buildFleetSummary({ ...base, targets: [...base.targets, { vm: 'lab-2', outcome: 'passed', rounds: 1 }] }));
    expect(dup.code).toBe('ATP_SCHEMA_INVALID');
    expect(dup.message).toContain('targets[4].vm: duplicate VM name "lab-2"');
    const unknown = schemaErrorOf(() => buildFleetSummary({ ...base, suites: [...base.suites, fleetSuite('lab-99', 1)] }));
    expect(unknown.message).toContain('suites[4].target.vm');
    expect(unknown.message).toContain('"lab-99"');
    expect(schemaErrorOf(() => buildFleetSummary({ ...base, wallMs: -1 })).message).toContain('wallMs');
    expect(schemaErrorOf(() => buildFleetSummary({ ...base, wallMs: Number.NaN })).message).toContain('wallMs');
    const zero = schemaErrorOf(() => buildFleetSummary({ ...base, concurrency: 0 }));
    expect(zero).toMatchObject({ code: 'ATP_SCHEMA_INVALID' });
    expect(zero.message).toContain('concurrency');
  });
});

describe('a report with a fleet', () => {
  it('is valid report schema v1 and survives the JSON round trip', () => {
    const report = fleetReport();
    expect(ReportV1Schema.parse(report)).toEqual(report);
    expect(report.host).toEqual(HOST);
    expect(report.fleet?.vms).toHaveLength(4);
    expect(parseReport(JSON.parse(toJsonReport(report)))).toEqual(report);
  });

  it('refuses a suite whose VM the fleet does not list', () => {
    const fleet = buildFleetSummary(fleetInput());
    const e = schemaErrorOf(() => buildReport([fleetSuite('elsewhere', 1)], { startedAt: new Date(T0), finishedAt: new Date(T0), version: '0.1.0', fleet }));
    expect(e.code).toBe('ATP_SCHEMA_INVALID');
    expect(e.message).toContain('suites[0].target.vm');
  });

  it('without fleet and host the report is as before', () => {
    const report = sampleReport();
    expect(Object.keys(report)).toEqual(['version', 'tool', 'startedAt', 'finishedAt', 'suites']);
  });
});

describe('formatSummary with a fleet', () => {
  const plain = formatSummary(fleetReport(), { color: false });
  const lines = plain.split('\n');
  const header = lines.findIndex((l) => /^\s+VM\s+OUTCOME\s+ROUNDS\s+KEYS\s+DEFECTS\s+P50\s+P99\s+ERROR$/.test(l));
  const rows = lines.slice(header + 1, header + 5);

  it('the suites carry their round, then the suites’ totals', () => {
    expect(lines[0]).toBe('PASS   smoke  scenarios/smoke.yaml · round 1 · vm lab-01 · observer agent  12.3 s');
    expect(lines).toContain('FAIL 4 suites: 3 passed, 1 failed, 0 errors (20.0 s)');
  });

  it('a per-VM table, failures first then by name, with keys, defects, latency and error code', () => {
    expect(lines).toContain('fleet: 4 VMs, concurrency 2, 2 rounds, on failure continue');
    expect(header).toBeGreaterThan(0);
    expect(rows.map((r) => r.trim().split(/\s+/)[0])).toEqual(['lab-2', 'lab-10', 'lab-3', 'lab-01']);
    expect(rows[0]).toMatch(/^ {2}lab-2 +failed +2 +1300 +5 +3\.7 ms +15\.0 ms$/);
    expect(rows[1]).toMatch(/^ {2}lab-10 +infra-error +0 +0 +0 +- +- +ATP_LAB_BOOT$/);
    expect(rows[3]).toMatch(/^ {2}lab-01 +passed +2 +800 +0 +5\.0 ms +40\.0 ms$/);
    // Columns line up: every row has its outcome where the header has OUTCOME.
    const col = lines[header]?.indexOf('OUTCOME');
    for (const r of rows) expect(r.slice(col).split(' ')[0]).toMatch(/^(passed|failed|infra-error|not-run)$/);
  });

  it('the VM errors, a totals line with the stop reason, and the host’s load', () => {
    expect(lines).toContain('  lab-10: ATP_LAB_BOOT: QEMU exited <early> & "badly"');
    expect(lines).toContain('ERROR 4 VMs: 1 passed, 1 failed, 1 infra-error, 0 aborted, 1 not-run · 2100 keys · 105 keys/s · worst p99 40.0 ms (lab-01)');
    expect(plain.endsWith('host: event-loop delay p99 12.0 ms, max 40.0 ms · CPU 85% · max RSS 312 MB\n')).toBe(true);
    const stopped = formatSummary(fleetReport(fleetInput({ onFailure: 'fail-fast', stopped: { reason: 'fail-fast', message: 'lab-2 did not pass' } }), false), { color: false });
    expect(stopped).toContain(' · stopped (fail-fast): lab-2 did not pass\n');
    expect(stopped).not.toContain('host:');
  });

  it('all passed: a PASS totals line', () => {
    const input = fleetInput({ targets: [{ vm: 'lab-01', outcome: 'passed', rounds: 2 }], suites: [fleetSuite('lab-01', 1), fleetSuite('lab-01', 2)] });
    expect(formatSummary(fleetReport(input), { color: false })).toContain('\nPASS 1 VM: 1 passed, 0 failed, 0 infra-error, 0 aborted, 0 not-run · 800 keys · 40.0 keys/s · worst p99 15.0 ms (lab-01)\n');
  });

  it('past 8 suite reports only those that did not pass are detailed, the rest counted', () => {
    const suites = [...Array.from({ length: 9 }, (_, i) => fleetSuite(`vm-${i % 3}`, Math.floor(i / 3) + 1)), fleetSuite('vm-1', 4, failingSuite())];
    const targets = [0, 1, 2].map((i) => ({ vm: `vm-${i}`, outcome: i === 1 ? ('failed' as const) : ('passed' as const), rounds: 4 }));
    const text = formatSummary(fleetReport({ ...fleetInput(), targets, suites, rounds: 4 }), { color: false });
    expect(text.split('\n').filter((l) => /^(PASS|FAIL|ERROR) +\S/.test(l) && !/suites?:|VMs?:/.test(l))).toEqual([
      'FAIL   layout <de> & "more"  round 4 · vm vm-1 on qa-host-1 · observer web page-1  800 ms',
      'PASS   9 passing suite reports not listed: smoke ×9',
    ]);
    expect(text).toContain('step 3: KEY_E pressed twice');
    expect(text).toContain('FAIL 10 suites: 9 passed, 1 failed, 0 errors');
  });

  it('one VM and one round: exactly the single-VM summary', () => {
    const suites = [passingSuite(), erroredSuite()];
    const input: FleetInput = { targets: [{ vm: 'lab', outcome: 'infra-error', rounds: 1 }], suites, concurrency: 1, onFailure: 'continue', wallMs: 1000 };
    const withFleet = fleetReport(input);
    const without = buildReport(suites, { startedAt: withFleet.startedAt, finishedAt: withFleet.finishedAt, version: '0.1.0' });
    expect(withFleet.fleet).toBeDefined();
    expect(formatSummary(withFleet, { color: false })).toBe(formatSummary(without, { color: false }));
    expect(formatSummary(withFleet, { color: false })).not.toContain('fleet');
  });

  it('colours outcomes when asked, cuts lines to the width', () => {
    const text = formatSummary(fleetReport(), { color: true });
    expect(text).toContain(`${ESC}[1;31mfailed`);
    expect(text).toContain(`${ESC}[1;35minfra-error`);
    expect(text).toContain(`${ESC}[1;32mpassed`);
    expect(strip(text)).toBe(plain);
    for (const color of [false, true]) {
      for (const line of strip(formatSummary(fleetReport(), { color, width: 50 })).split('\n')) expect([...line].length).toBeLessThanOrEqual(50);
    }
  });
});

describe('toJunitXml per VM', () => {
  const root = parseXmlStrict(toJunitXml(fleetReport()));
  const suites = xmlKids(root, 'testsuite');
  const byName = (name: string): XNode | undefined => suites.find((s) => s.attrs['name'] === name);
  const props = (s: XNode | undefined): Record<string, string | undefined> => Object.fromEntries(xmlKids(xmlKids(s, 'properties')[0], 'property').map((p) => [p.attrs['name'], p.attrs['value']]));

  it('one well-formed testsuite per VM in the fleet’s order, totals on the root', () => {
    expect(suites.map((s) => s.attrs['name'])).toEqual(['lab-01', 'lab-2', 'lab-10', 'lab-3']);
    expect(root.attrs).toMatchObject({ name: 'atp', tests: '6', failures: '1', errors: '2', time: '20.000' });
  });

  it('a VM’s testcases are its suite reports, named with their round', () => {
    const a = byName('lab-01');
    expect(a?.attrs).toMatchObject({ tests: '2', failures: '0', errors: '0', time: '24.690' });
    expect(props(a)).toMatchObject({ 'atp.vm.outcome': 'passed', 'atp.vm.rounds': '2', 'atp.vm.keys': '800', 'atp.vm.p99Ms': '40', 'atp.vm.openMs': '4200' });
    const cases = xmlKids(a, 'testcase');
    expect(cases.map((c) => [c.attrs['name'], c.attrs['classname']])).toEqual([
      ['smoke · round 1', 'lab-01'],
      ['smoke · round 2', 'lab-01'],
    ]);
    expect(xmlText(xmlKids(cases[1], 'system-out')[0])).toContain('latency: n=100 p50 10.0 ms');
  });

  it('a failed suite: one failure with every failing finding', () => {
    const b = byName('lab-2');
    expect(b?.attrs).toMatchObject({ tests: '2', failures: '1', errors: '0', hostname: 'qa-host-1' });
    const failure = xmlKids(xmlKids(b, 'testcase')[0], 'failure')[0];
    expect(xmlKids(b, 'testcase')[0]?.attrs['name']).toBe('layout <de> & "more" · round 1');
    expect(failure?.attrs).toMatchObject({ type: 'duplicate,wrongKey,missing,stuck,pointer-error', message: 'step 3: KEY_E pressed twice (seq 41, 43): doubled character (and 4 more)' });
    expect(xmlText(failure).split('\n')).toHaveLength(5);
    expect(xmlText(failure)).toContain('step 8: click landed 7.5 px off');
  });

  it('a VM that never ran a suite: one errored "target" testcase with its error', () => {
    const c = byName('lab-10');
    expect(c?.attrs).toMatchObject({ tests: '1', failures: '0', errors: '1' });
    const [only] = xmlKids(c, 'testcase');
    expect(only?.attrs['name']).toBe(TARGET_TESTCASE);
    expect(xmlKids(only, 'error')[0]?.attrs).toMatchObject({ type: 'ATP_LAB_BOOT', message: 'ATP_LAB_BOOT: QEMU exited <early> & "badly"' });
    const d = xmlKids(byName('lab-3'), 'testcase')[0];
    expect(xmlKids(d, 'error')[0]?.attrs).toMatchObject({ type: 'ATP_RUN_ABORTED', message: 'ATP_RUN_ABORTED: the run stopped before this VM started' });
    expect(xmlText(xmlKids(d, 'system-out')[0])).toBe('outcome not-run after 0 rounds');
  });

  it('a VM stopped after passing suites errs; one whose suite errored gets no extra testcase', () => {
    const input: FleetInput = {
      targets: [
        { vm: 'x', outcome: 'aborted', rounds: 1, error: { code: 'ATP_RUN_ABORTED', message: 'stop-all: y did not pass' } },
        { vm: 'y', outcome: 'infra-error', rounds: 0, error: { code: 'ATP_QMP_DISCONNECTED', message: 'QMP closed' } },
      ],
      suites: [fleetSuite('x', 1), fleetSuite('y', 1, erroredSuite())],
      concurrency: 2,
      onFailure: 'stop-all',
      wallMs: 1000,
    };
    const doc = parseXmlStrict(toJunitXml(fleetReport(input)));
    const [x, y] = xmlKids(doc, 'testsuite');
    expect(xmlKids(x, 'testcase').map((c) => c.attrs['name'])).toEqual(['smoke · round 1', TARGET_TESTCASE]);
    expect(x?.attrs).toMatchObject({ errors: '1', failures: '0' });
    expect(xmlKids(y, 'testcase').map((c) => c.attrs['name'])).toEqual(['stress · round 1']);
    expect(xmlKids(xmlKids(y, 'testcase')[0], 'error')[0]?.attrs['type']).toBe('ATP_QMP_DISCONNECTED');
  });

  it('suites from several VMs without a fleet: per VM too, names escaped', () => {
    const odd = 'vm <&> "x"';
    const doc = parseXmlStrict(toJunitXml(sampleReport([fleetSuite('a', undefined), fleetSuite(odd, undefined, failingSuite()), fleetSuite('a', undefined, erroredSuite())])));
    const vms = xmlKids(doc, 'testsuite');
    expect(vms.map((s) => s.attrs['name'])).toEqual(['a', odd]);
    expect(xmlKids(vms[0], 'testcase').map((c) => c.attrs['name'])).toEqual(['smoke', 'stress']);
    expect(doc.attrs).toMatchObject({ tests: '3', failures: '1', errors: '1' });
  });
});

describe('FleetProgress and its lines', () => {
  let seq = 0;
  const ev = (sec: number, body: RunEventInput, runId = 'r1'): RunEvent => parseRunEvent({ ...body, seq: seq++, at: new Date(T0 + sec * 1000).toISOString(), runId });
  const at = (sec: number): number => T0 + sec * 1000;
  const suiteDone = (sec: number, target: string, round: number, verdict: 'pass' | 'fail', keys: number, durationMs: number, extra: object = {}): RunEvent =>
    ev(sec, { type: 'suite-finished', target, round, suite: 'smoke', verdict, keys, defects: verdict === 'pass' ? 0 : 2, durationMs, ...extra });
  const step = (sec: number, target: string, round: number, i: number): RunEvent => ev(sec, { type: 'step-started', target, round, suite: 'smoke', step: i, label: `step ${i}` });

  const p = new FleetProgress();
  const events: RunEvent[] = [];
  const apply = (...es: RunEvent[]): void => {
    for (const e of es) {
      events.push(e);
      p.apply(e);
    }
  };

  it('walks a run: waiting and opening, steps, learnt step counts, outcomes, keys per second', () => {
    apply(ev(0, { type: 'run-started', targets: ['a', 'b', 'c', 'd'], suites: ['smoke'], concurrency: 2, rounds: 2, onFailure: 'continue' }));
    expect(formatFleetLine(p)).toBe('fleet 4 VMs: 0 running · 0 passed · 0 failed · 0 infra · 2 opening · 2 waiting · 0 keys/s · 0:00.0');

    apply(ev(3, { type: 'target-opened', target: 'a', agentId: 'agent-a', openMs: 3000 }), ev(4, { type: 'target-opened', target: 'b', agentId: 'agent-b', openMs: 4000 }));
    apply(step(4, 'a', 1, 0), step(5, 'a', 1, 1), ev(5, { type: 'step-finished', target: 'a', round: 1, suite: 'smoke', step: 1 }), step(6, 'a', 1, 2), step(6, 'b', 1, 0));
    expect(formatFleetLine(p, { now: at(7) })).toBe('fleet 4 VMs: 2 running · 0 passed · 0 failed · 0 infra · 2 waiting · 0 keys/s · 0:07.0 · a r1 smoke step 3, b r1 smoke step 1');

    const finding = { kind: 'missing' as const, step: 0, message: 'KEY_H never arrived' };
    apply(ev(9, { type: 'finding', target: 'b', round: 1, suite: 'smoke', finding }), suiteDone(10, 'a', 1, 'pass', 300, 6000, { p99Ms: 15 }));
    expect(p.stepCount('smoke')).toBe(3);
    expect(p.keysPerSecond(at(10))).toBeCloseTo(30, 9); // 300 keys in the 10 s since the start
    apply(step(11, 'a', 2, 1));
    expect(formatFleetLine(p)).toContain('· a r2 smoke 2/3, b! r1 smoke 1/3');

    apply(suiteDone(12, 'b', 1, 'fail', 300, 8000), ev(12, { type: 'target-finished', target: 'b', outcome: 'failed', rounds: 1 }));
    apply(ev(13, { type: 'target-opened', target: 'c', agentId: 'agent-c', openMs: 900 }));
    apply(suiteDone(16, 'a', 2, 'pass', 300, 5000), ev(16, { type: 'target-finished', target: 'a', outcome: 'passed', rounds: 2 }));
    expect(p.keys).toBe(900);
    expect(p.targets.map((t) => [t.target, t.phase, t.keys, t.defects])).toEqual([
      ['a', 'passed', 600, 0],
      ['b', 'failed', 300, 2],
      ['c', 'running', 0, 0],
      ['d', 'waiting', 0, 0],
    ]);
    expect(formatFleetLine(p)).toBe('fleet 4 VMs: 1 running · 1 passed · 1 failed · 0 infra · 1 opening · 0 waiting · 56.3 keys/s · 0:16.0 · c opened');
    // Keys are spread over each suite's span: at 40 s the window is 10..40 s, holding a r2 (11..16 s) whole
    // and the last 2 s of b's 8 s (4..12 s); at 46 s every span has left it.
    expect(p.keysPerSecond(at(40))).toBeCloseTo((300 + 75) / 30, 9);
    expect(p.keysPerSecond(at(46))).toBe(0);
  });

  it('ignores replayed events and events of another run', () => {
    const before = JSON.stringify(p.targets);
    const replay = events.find((e) => e.type === 'suite-finished');
    if (replay === undefined) throw new Error('no suite-finished event');
    p.apply(replay);
    p.apply(ev(17, { type: 'target-finished', target: 'c', outcome: 'passed', rounds: 2 }, 'other-run'));
    expect(JSON.stringify(p.targets)).toBe(before);
    expect(p.keys).toBe(900);
  });

  it('the end of the run: outcomes from the events and from run-finished', () => {
    apply(ev(20, { type: 'target-finished', target: 'c', outcome: 'infra-error', rounds: 0, error: { code: 'ATP_RUN_TARGET', message: 'QMP socket gone' } }));
    const fleet = buildFleetSummary({
      targets: [
        { vm: 'a', outcome: 'passed', rounds: 2 },
        { vm: 'b', outcome: 'failed', rounds: 1 },
        { vm: 'c', outcome: 'infra-error', rounds: 0, error: { code: 'ATP_RUN_TARGET', message: 'QMP socket gone' } },
        { vm: 'd', outcome: 'not-run', rounds: 0 },
      ],
      suites: [],
      concurrency: 2,
      rounds: 2,
      onFailure: 'continue',
      wallMs: 21_000,
    });
    apply(ev(21, { type: 'run-finished', exitCode: 3, fleet }));
    expect(p.finished).toEqual({ exitCode: 3 });
    expect(p.targets.find((t) => t.target === 'c')?.error).toEqual({ code: 'ATP_RUN_TARGET', message: 'QMP socket gone' });
    const line = formatFleetLine(p, { now: at(21) });
    expect(line.startsWith('fleet 4 VMs done: 0 running · 1 passed · 1 failed · 1 infra · 1 not run · 0 waiting · ')).toBe(true);
    const cut = formatFleetLine(p, { width: 30 });
    expect([...cut]).toHaveLength(30);
    expect(cut.endsWith('…')).toBe(true);
  });

  it('CI-log lines for the events worth one, none for steps and findings', () => {
    const lines = events.map(formatFleetEvent);
    expect(lines.filter((l) => l !== undefined)).toEqual([
      'run r1 started: 4 VMs × 1 suite, concurrency 2, 2 rounds, on failure continue',
      'a opened in 3.0 s (agent agent-a)',
      'b opened in 4.0 s (agent agent-b)',
      'a r1 smoke PASS 300 keys, 0 defects, p99 15.0 ms (6.0 s)',
      'b r1 smoke FAIL 300 keys, 2 defects (8.0 s)',
      'b failed after 1 round',
      'c opened in 900 ms (agent agent-c)',
      'a r2 smoke PASS 300 keys, 0 defects (5.0 s)',
      'a passed after 2 rounds',
      'c infra-error after 0 rounds: ATP_RUN_TARGET: QMP socket gone',
      'run r1 finished (exit 3): 4 VMs: 1 passed, 1 failed, 1 infra-error, 0 aborted, 1 not-run · 0 keys · 0 keys/s',
    ]);
    for (const e of events) if (['step-started', 'step-finished', 'finding'].includes(e.type)) expect(formatFleetEvent(e)).toBeUndefined();
    const bad = ev(1, { type: 'suite-finished', target: 'x\u001b[2J', round: 1, suite: 's', verdict: 'error', keys: 0, defects: 0, durationMs: 10, error: { code: 'ATP_QMP_TIMEOUT', message: 'no reply\nat all' } });
    expect(formatFleetEvent(bad)).toBe('x\\u001b[2J r1 s ERROR 0 keys, 0 defects (10 ms): ATP_QMP_TIMEOUT: no reply\\nat all');
  });

  it('a new run-started starts over', () => {
    const q = new FleetProgress({ windowMs: 10_000 });
    q.apply(ev(0, { type: 'run-started', targets: ['a'], suites: ['smoke'], concurrency: 1, onFailure: 'continue' }, 'one'));
    q.apply(ev(5, { type: 'suite-finished', target: 'a', round: 1, suite: 'smoke', verdict: 'pass', keys: 100, defects: 0, durationMs: 5000 }, 'one'));
    seq = 0;
    q.apply(ev(60, { type: 'run-started', targets: ['b', 'c'], suites: ['smoke'], concurrency: 1, onFailure: 'continue' }, 'two'));
    expect(q.keys).toBe(0);
    expect(q.targets.map((t) => t.target)).toEqual(['b', 'c']);
    expect(formatFleetLine(q)).toBe('fleet 2 VMs: 0 running · 0 passed · 0 failed · 0 infra · 1 opening · 1 waiting · 0 keys/s · 0:00.0');
  });
});
