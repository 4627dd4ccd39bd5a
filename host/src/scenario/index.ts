/** Suites: loading YAML with file:line:column errors, input checks, step labels. */
export { loadSuite, parseSuiteText, MAX_SUITE_BYTES, type LoadedSuite, type ParseSuiteOptions, type SuiteIssue } from './load.js';
export { checkSuiteInputs } from './check-inputs.js';
export { describeStep, stepLabels } from './describe-step.js';
export { locatePath, type SourcePosition } from './yaml-locate.js';
export { planSuite, MAX_PLAN_ITEMS, DEFAULT_EXPECT_TIMEOUT_MS, type ExpectSpec, type PlanItem, type PlanOptions, type SuitePlan } from './plan.js';
export { resolvePacing, policyFor, DEFAULT_HOLD_MS, DEFAULT_GAP_MS, DEFAULT_MAX_IN_FLIGHT, DEFAULT_FEEDBACK_TIMEOUT_MS, type PacingFlags, type ResolvedPacing, type CalibrationLookup } from './pacing-policy.js';
export { HubObservation, type HubNotice, type QuiescenceTarget } from './observer-feedback.js';
export { attachAgentEndpoint, ensureGuestRunning, parseAgentEndpoint, waitForAgentSession, type AgentEndpoint, type WaitAgentOptions } from './targets.js';
export { runSuite, type RunSuiteOptions, type SuiteRun, type SuiteTarget } from './run-suite.js';
export { qgaClockEstimate } from './qga-clock.js';
export { blockSuite, inputBlocks, loadAnySuite, parseAnySuiteText, type InputBlock, type LoadedAnySuite, type LoadedSuiteV2 } from './load-v2.js';
