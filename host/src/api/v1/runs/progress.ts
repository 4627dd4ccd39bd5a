/**
 * Per-VM progress of a run as the API shows it (ApiVmProgress), from the
 * report layer's FleetProgress reducer: live while the run goes on, kept in
 * the store when it ends, and rebuilt from the stored run events for a run a
 * crash interrupted (it has events but no progress snapshot).
 */
import type { ApiVmProgress, RunEvent } from '@atp/protocol';
import { FleetProgress } from '../../../report/index.js';

export function vmProgressOf(progress: FleetProgress): ApiVmProgress[] {
  return progress.targets.map((t) => {
    const steps = t.where === undefined ? undefined : progress.stepCount(t.where.suite);
    return {
      vm: t.target,
      phase: t.phase,
      ...(t.openMs === undefined ? {} : { openMs: t.openMs }),
      ...(t.where === undefined ? {} : { round: t.where.round, suite: t.where.suite, step: t.where.step, stepLabel: t.where.stepLabel }),
      ...(steps === undefined ? {} : { steps }),
      suitesDone: t.suitesDone,
      suitesNotPassed: t.suitesNotPassed,
      keys: t.keys,
      defects: t.defects,
      findings: t.findings,
      ...(t.rounds === undefined ? {} : { rounds: t.rounds }),
      ...(t.error === undefined ? {} : { error: { code: t.error.code, message: t.error.message } }),
    };
  });
}

export function replayProgress(events: readonly RunEvent[]): ApiVmProgress[] {
  const progress = new FleetProgress();
  for (const event of events) progress.apply(event);
  return vmProgressOf(progress);
}
