/** The v2 suite executor: platform steps and input blocks on a desk pool's VMs. */
export { runPlatformSuite, type PlatformSuiteOptions, type PlatformSuiteResult } from './platform-suite.js';
export { RUN_STEP_HANDLERS } from './run-steps.js';
export { VDI_ACTION_HANDLERS } from './vdi-actions.js';
export { powershellArgv } from './exec-step.js';
export { mergeBlockFleets, platformExitCode, worseOutcome, type BlockFleet } from './platform-outcome.js';
export type { StepContext, StepDone, VmFilter, VmResult } from './context.js';
export type { RunStepHandler, RunStepHandlers } from './step-types.js';
export type { VdiActionHandler, VdiActionHandlers, VdiArgs } from './vdi-types.js';
