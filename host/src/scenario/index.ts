/** Suites: loading YAML with file:line:column errors, input checks, step labels. */
export { loadSuite, parseSuiteText, MAX_SUITE_BYTES, type LoadedSuite, type ParseSuiteOptions, type SuiteIssue } from './load.js';
export { checkSuiteInputs } from './check-inputs.js';
export { describeStep, stepLabels } from './describe-step.js';
export { locatePath, type SourcePosition } from './yaml-locate.js';
