/** The run engine: suites on many targets at once, as a library yielding run events. */
export { runFleet, runToEnd, type RunOptions, type RunResult, type RunSuiteSpec } from './engine.js';
export { runExitCode, vmOutcome, type VmRecord } from './outcome.js';
export { HostLoadMonitor } from './host-load.js';
