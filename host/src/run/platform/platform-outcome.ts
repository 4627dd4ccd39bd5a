/**
 * A v2 suite's outcome, pure: the fleet summary over its input blocks and its
 * exit code.
 *
 * Each input block is one run of the engine with a fleet summary of its own.
 * The suite's fleet has each VM once: its worst outcome over the blocks it was
 * in (infra-error > failed > aborted > not-run > passed; a selected VM that
 * did not run is 'not-run' in that block), rounds 1 only when it finished
 * every such block, the largest open time, the error of its worst block; keys,
 * defects and latency are recomputed from every block's suite reports
 * (report/fleet.ts). Concurrency is the largest a block used, the wall
 * time (for keys per second) the blocks' summed.
 *
 * Exit code: 3 when the run was stopped (signal) or nothing was verified; 0
 * when every step is ok and every VM of every block passed; 1 otherwise.
 * Verified means a VM of some block passed or failed (its input was checked),
 * or an exec step compared a VM's answer.
 */
import type { FleetSummary, PlatformStepResult, SuiteReport, VmOutcome } from '@atp/protocol';
import { buildFleetSummary, type FleetTargetInput } from '../../report/index.js';

const SEVERITY: readonly VmOutcome[] = ['passed', 'not-run', 'aborted', 'failed', 'infra-error'];

export interface BlockFleet {
  fleet: FleetSummary;
  suites: readonly SuiteReport[];
  wallMs: number;
  /** Selected VMs that did not run, so had no target in the block: 'not-run' with this error. */
  notRunning?: readonly { vm: string; error: { code: string; message: string } }[];
}

export function worseOutcome(a: VmOutcome, b: VmOutcome): VmOutcome {
  return SEVERITY.indexOf(b) > SEVERITY.indexOf(a) ? b : a;
}

/** One fleet summary over the blocks that ran; undefined when none did. */
export function mergeBlockFleets(blocks: readonly BlockFleet[]): FleetSummary | undefined {
  if (blocks.length === 0) return undefined;
  const targets = new Map<string, FleetTargetInput>();
  for (const { fleet, notRunning = [] } of blocks) {
    for (const v of [...fleet.vms, ...notRunning.map((n) => ({ vm: n.vm, outcome: 'not-run' as const, rounds: 0, openMs: undefined, error: n.error }))]) {
      const seen = targets.get(v.vm);
      if (seen === undefined) {
        targets.set(v.vm, { vm: v.vm, outcome: v.outcome, rounds: v.rounds, ...(v.openMs === undefined ? {} : { openMs: v.openMs }), ...(v.error === undefined ? {} : { error: v.error }) });
        continue;
      }
      const outcome = worseOutcome(seen.outcome, v.outcome);
      const openMs = Math.max(seen.openMs ?? 0, v.openMs ?? 0);
      const error = outcome !== seen.outcome && v.error !== undefined ? v.error : (seen.error ?? v.error);
      targets.set(v.vm, { vm: v.vm, outcome, rounds: Math.min(seen.rounds, v.rounds), ...(openMs > 0 ? { openMs } : {}), ...(error === undefined ? {} : { error }) });
    }
  }
  const stopped = blocks.find((b) => b.fleet.stopped !== undefined)?.fleet.stopped;
  return buildFleetSummary({
    targets: [...targets.values()],
    suites: blocks.flatMap((b) => b.suites),
    concurrency: Math.max(...blocks.map((b) => b.fleet.concurrency)),
    onFailure: 'continue',
    ...(stopped === undefined ? {} : { stopped }),
    wallMs: blocks.reduce((n, b) => n + b.wallMs, 0),
  });
}

/** Whether a block's run checked any VM's input (a VM passed or failed). */
export function blockVerified(fleet: FleetSummary): boolean {
  return fleet.vms.some((v) => v.outcome === 'passed' || v.outcome === 'failed');
}

export function platformExitCode(input: { steps: readonly PlatformStepResult[]; fleet: FleetSummary | undefined; verified: boolean; aborted: boolean }): 0 | 1 | 3 {
  if (input.aborted) return 3;
  const stepsOk = input.steps.every((s) => s.outcome === 'ok');
  const vmsOk = input.fleet === undefined || input.fleet.vms.every((v) => v.outcome === 'passed');
  if (stepsOk && vmsOk) return 0;
  return input.verified ? 1 : 3;
}
