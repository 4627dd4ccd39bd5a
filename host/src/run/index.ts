/** The run engine: suites on many targets at once, as a library yielding run events; and the v2 suite executor (platform steps + input blocks). */
export { runFleet, runToEnd, type RunOptions, type RunResult, type RunSuiteSpec } from './engine.js';
export { runExitCode, vmOutcome, type VmRecord } from './outcome.js';
export { HostLoadMonitor } from './host-load.js';
export {
  runPlatformSuite,
  RUN_STEP_HANDLERS,
  VDI_ACTION_HANDLERS,
  powershellArgv,
  type PlatformSuiteOptions,
  type PlatformSuiteResult,
  type RunStepHandler,
  type RunStepHandlers,
  type StepContext,
  type StepDone,
  type VdiActionHandler,
  type VdiActionHandlers,
} from './platform/index.js';
