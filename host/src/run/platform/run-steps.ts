/**
 * The run-step registry of scenario v2: one handler per run step action
 * (RUN_STEP_ACTIONS in @atp/protocol): `vdi:` dispatches further through
 * VDI_ACTION_HANDLERS, `waitFor:`, `exec:` and `select:` have a file each.
 * Adding an action to the schema makes this object fail to compile until its
 * handler exists.
 */
import type { RunStep, RunStepAction } from '@atp/protocol';
import type { StepContext, StepDone } from './context.js';
import { EXEC_STEP } from './exec-step.js';
import { SELECT_STEP } from './select-step.js';
import type { RunStepHandlers, RunStepOf } from './step-types.js';
import { describeVdiAction, runVdiAction } from './vdi-actions.js';
import { WAIT_STEP } from './wait-step.js';

export const RUN_STEP_HANDLERS: RunStepHandlers = {
  vdi: { describe: (step) => describeVdiAction(step.vdi), run: (step, ctx) => runVdiAction(step.vdi, ctx) },
  waitFor: WAIT_STEP,
  exec: EXEC_STEP,
  select: SELECT_STEP,
};

function handlerFor<K extends RunStepAction>(action: K, step: RunStep): { describe(): string; run(ctx: StepContext): Promise<StepDone> } {
  const handler = RUN_STEP_HANDLERS[action];
  const typed = step as RunStepOf[K];
  return { describe: () => handler.describe(typed), run: (ctx) => handler.run(typed, ctx) };
}

/** The step's own name, else what it does. */
export function runStepLabel(action: RunStepAction, step: RunStep): string {
  return step.name ?? handlerFor(action, step).describe();
}

export function runRunStep(action: RunStepAction, step: RunStep, ctx: StepContext): Promise<StepDone> {
  return handlerFor(action, step).run(ctx);
}
