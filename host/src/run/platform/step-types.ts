/**
 * The shape of a run step's handler (vdi, waitFor, exec, select): a label for
 * the report and the log, and the step itself. Kept apart from the registry
 * (run-steps.ts) so the handler files and the registry do not import each other.
 */
import type { ExecStep, RunStepAction, SelectStep, VdiStep, WaitForStep } from '@atp/protocol';
import type { StepContext, StepDone } from './context.js';

export interface RunStepOf {
  vdi: VdiStep;
  waitFor: WaitForStep;
  exec: ExecStep;
  select: SelectStep;
}

export interface RunStepHandler<K extends RunStepAction> {
  describe(step: RunStepOf[K]): string;
  run(step: RunStepOf[K], ctx: StepContext): Promise<StepDone>;
}

export type RunStepHandlers = { [K in RunStepAction]: RunStepHandler<K> };
