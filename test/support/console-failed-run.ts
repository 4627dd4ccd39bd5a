/**
 * A failed run put straight into the server's run store, for the console's
 * findings view: a real lab VM does not produce keyboard defects on demand, so
 * this run's report comes from the report fixtures (a duplicate key, a wrong
 * key with both sides, a missing key whose message carries markup, a stuck
 * modifier, extra keys), built with the real report builders and stored as the
 * RunManager stores a finished run.
 */
import { randomUUID } from 'node:crypto';
import type { ApiRunOptions, ReportV1 } from '@atp/protocol';
import type { RunManager } from '../../host/src/api/v1/runs/index.js';
import { buildFleetSummary, buildReport } from '../../host/src/report/index.js';
import { failingSuite, fleetSuite } from '../../host/test/report-fixture.js';

export function storeFailedRun(runs: RunManager): { id: string; report: ReportV1 } {
  const id = randomUUID();
  const started = Date.now() - 60_000;
  const suite = fleetSuite('lab', undefined, failingSuite(2));
  const fleet = buildFleetSummary({ targets: [{ vm: 'lab', outcome: 'failed', rounds: 1, openMs: 900 }], suites: [suite], concurrency: 1, onFailure: 'continue', wallMs: 20_000 });
  const report = buildReport([suite], { startedAt: new Date(started), finishedAt: new Date(started + 20_000).toISOString(), version: 'console-test', fleet });
  const options: ApiRunOptions = { suites: ['smoke.yaml'], targets: { lab: {} }, onFailure: 'continue' };
  runs.store.create({ id, options, createdAt: started, status: 'running' });
  const defects = suite.findings.length;
  runs.store.finish(id, {
    status: 'failed',
    finishedAt: started + 20_000,
    exitCode: 1,
    fleet,
    report,
    progress: [{ vm: 'lab', phase: 'failed', openMs: 900, suitesDone: 1, suitesNotPassed: 1, keys: suite.counts.expected, defects, findings: defects, rounds: 1 }],
  });
  return { id, report };
}
