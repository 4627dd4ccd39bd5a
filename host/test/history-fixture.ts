/**
 * A finished one-VM run for the run store tests, made with the real report
 * builders so every piece is schema-valid: its run events (started, opened,
 * steps, suite and VM finished, run finished), the report with its fleet
 * summary, step labels and per-VM progress; and the request options it came from.
 */
import type { ApiRunOptions, ApiVmProgress, ReportV1, RunEvent, RunEventInput } from '@atp/protocol';
import { buildFleetSummary, buildReport } from '../src/report/index.js';
import { fleetSuite, passingSuite } from './report-fixture.js';

export interface FinishedRun {
  id: string;
  options: ApiRunOptions;
  events: RunEvent[];
  report: ReportV1;
  stepLabels: string[][];
  progress: ApiVmProgress[];
}

export const LAB_OPTIONS: ApiRunOptions = { suites: ['smoke.yaml', { name: 'inline.yaml', yaml: 'version: 1\n' }], targets: { lab: { count: 1 } }, pacing: { closedLoop: true } };

/** A run of `steps` steps on lab that passed; events get seq 0, 1, 2, … */
export function finishedRun(id: string, steps = 3): FinishedRun {
  const at = new Date('2026-12-07T04:00:00.000Z');
  let seq = 0;
  const stamp = (e: RunEventInput): RunEvent => ({ ...e, seq: seq++, at: new Date(at.getTime() + seq * 1000).toISOString(), runId: id }) as RunEvent;
  const suite = fleetSuite('lab', undefined, passingSuite());
  const fleet = buildFleetSummary({ targets: [{ vm: 'lab', outcome: 'passed', rounds: 1, openMs: 900 }], suites: [suite], concurrency: 1, onFailure: 'continue', wallMs: 20_000 });
  const events: RunEvent[] = [
    stamp({ type: 'run-started', targets: ['lab'], suites: ['smoke'], concurrency: 1, onFailure: 'continue' }),
    stamp({ type: 'target-opened', target: 'lab', agentId: 'lab', openMs: 900 }),
  ];
  for (let step = 0; step < steps; step++) {
    events.push(stamp({ type: 'step-started', target: 'lab', round: 1, suite: 'smoke', step, label: `step ${step}` }));
    events.push(stamp({ type: 'step-finished', target: 'lab', round: 1, suite: 'smoke', step }));
  }
  events.push(stamp({ type: 'suite-finished', target: 'lab', round: 1, suite: 'smoke', verdict: 'pass', keys: 400, defects: 0, p99Ms: 15, durationMs: 12_345 }));
  events.push(stamp({ type: 'target-finished', target: 'lab', outcome: 'passed', rounds: 1 }));
  events.push(stamp({ type: 'run-finished', exitCode: 0, fleet }));
  const report = buildReport([suite], { startedAt: at, finishedAt: new Date(at.getTime() + 20_000).toISOString(), version: '0.1.0', fleet });
  const progress: ApiVmProgress[] = [{ vm: 'lab', phase: 'passed', openMs: 900, suitesDone: 1, suitesNotPassed: 0, keys: 400, defects: 0, findings: 0, rounds: 1 }];
  return { id, options: LAB_OPTIONS, events, report, stepLabels: [Array.from({ length: steps }, (_, i) => `step ${i}`)], progress };
}
