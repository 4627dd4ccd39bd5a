/**
 * The run engine's decisions, pure: a VM's outcome from its suite verdicts and
 * how it ended, and the run's exit code from the VMs' outcomes.
 *
 *  - infra-error: the target could not be opened, or a suite ended with
 *    verdict 'error' (QEMU gone, agent lost) while the run was not stopping;
 *  - failed: a suite found defects (verdict 'fail');
 *  - aborted: the run was stopped (signal, fail-fast, stop-all, --duration
 *    never counts: it only stops between rounds) before the VM finished;
 *  - not-run: the run stopped before the VM was opened;
 *  - passed: every suite of every round it ran passed.
 * Exit code: 0 every VM passed; 3 nothing was verified (every VM infra-error,
 * not-run or aborted) or a signal stopped the run; 1 otherwise (at least one
 * VM was verified and at least one did not pass).
 */
import type { VmOutcome } from '@atp/protocol';

export interface VmRecord {
  opened: boolean;
  openFailed: boolean;
  verdicts: ('pass' | 'fail' | 'error')[];
  /** A suite ended in 'error' that was not caused by the run stopping. */
  infraError: boolean;
  /** The run stopped while this VM still had work. */
  cutShort: boolean;
}

export function vmOutcome(r: VmRecord): VmOutcome {
  if (r.openFailed || r.infraError) return 'infra-error';
  if (r.verdicts.includes('fail')) return 'failed';
  if (!r.opened) return 'not-run';
  if (r.cutShort) return 'aborted';
  return 'passed';
}

export function runExitCode(outcomes: readonly VmOutcome[], stoppedBySignal: boolean): 0 | 1 | 3 {
  if (stoppedBySignal) return 3;
  if (outcomes.length > 0 && outcomes.every((o) => o === 'passed')) return 0;
  const verified = outcomes.some((o) => o === 'passed' || o === 'failed');
  return verified ? 1 : 3;
}
