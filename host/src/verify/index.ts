/** Verification: expectations from actions, the matchers, latency statistics, verdicts. Pure. */
export * from './types.js';
export * from './modifiers.js';
export * from './expectations.js';
export * from './align.js';
export { matchTransitions, type TransitionMatch, type TransitionMatchOptions } from './match-keys.js';
export type { KeyClass } from './key-findings.js';
export * from './match-text.js';
export * from './match-pointer.js';
export * from './latency.js';
export * from './latency-samples.js';
export * from './verdict.js';
