/** Runs as a service: the RunManager over the run store, and how a server attaches it. */
export { attachRuns, runsOf, RUNS_SERVICE, type AttachRunsOptions } from './attach.js';
export { RunManager, type RunManagerOptions } from './manager.js';
export { resolveSuitePath } from './suites.js';
export type { ServerLabSettings } from './targets.js';
export { runDetailOf, runSummaryOf, type LiveRun } from './views.js';
