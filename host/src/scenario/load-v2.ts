/**
 * Loading any suite: v1 (load.ts) or v2 (platform steps, scenario-v2.ts in
 * @atp/protocol), every error with file:line:column. A v2 suite's consecutive
 * input steps form blocks; each block is checked like a v1 suite (key names,
 * text on the layout, positions on the screen) with the issues' paths mapped
 * back to the original steps, and `${name.field}` uses are checked against the
 * steps' `as:` names. `blockSuite` turns a block into the v1 suite the run
 * engine runs on every VM, with the variables known by then substituted.
 */
import { AtpError, isAtpError, parseWith, checkScenarioV2Variables, formatPath, runStepAction, ScenarioV2Schema, substituteVariables, type ScenarioStep, type ScenarioV1, type ScenarioV2, type ValidationIssue } from '@atp/protocol';
import { checkSuiteInputs } from './check-inputs.js';
import { invalidError, isVersion2, parseSuiteText, parseSuiteYaml, readSuiteText, toSuiteIssues, type LoadedSuite, type ParseSuiteOptions } from './load.js';

/** Consecutive input steps of a v2 suite: steps[first..last]. */
export interface InputBlock {
  first: number;
  last: number;
  steps: ScenarioStep[];
}

export interface LoadedSuiteV2 {
  version: 2;
  scenario: ScenarioV2;
  source: string;
  blocks: InputBlock[];
}

export type LoadedAnySuite = (LoadedSuite & { version: 1 }) | LoadedSuiteV2;

export async function loadAnySuite(path: string, options: ParseSuiteOptions = {}): Promise<LoadedAnySuite> {
  return parseAnySuiteText(await readSuiteText(path), path, options);
}

export function parseAnySuiteText(text: string, fileName: string, options: ParseSuiteOptions = {}): LoadedAnySuite {
  const parsed = parseSuiteYaml(text, fileName);
  if (!isVersion2(parsed.value)) return { version: 1, ...parseSuiteText(text, fileName, options) };
  let scenario: ScenarioV2;
  try {
    scenario = parseWith(ScenarioV2Schema, parsed.value, { source: fileName, what: 'scenario' });
  } catch (error) {
    if (!isAtpError(error, 'ATP_SCHEMA_INVALID')) throw error;
    throw invalidError(fileName, toSuiteIssues(error.details['issues'], parsed.doc, parsed.lineCounter), error);
  }
  const blocks = inputBlocks(scenario);
  const issues: ValidationIssue[] = checkScenarioV2Variables(scenario).map((i) => ({ path: i.path, pathText: formatPath(i.path), message: i.message, code: 'ATP_SCENARIO_INVALID' }));
  if (options.checkInputs ?? true) {
    for (const block of blocks) {
      for (const i of checkSuiteInputs(asV1(scenario, block))) {
        const [head, index, ...rest] = i.path;
        const path = head === 'steps' && typeof index === 'number' ? ['steps', block.first + index, ...rest] : [...i.path];
        issues.push({ ...i, path, pathText: formatPath(path) });
      }
    }
  }
  if (issues.length > 0) throw invalidError(fileName, toSuiteIssues(issues, parsed.doc, parsed.lineCounter));
  return { version: 2, scenario, source: fileName, blocks };
}

export function inputBlocks(scenario: ScenarioV2): InputBlock[] {
  const blocks: InputBlock[] = [];
  scenario.steps.forEach((step, i) => {
    if (runStepAction(step) !== undefined) return;
    const last = blocks[blocks.length - 1];
    if (last !== undefined && last.last === i - 1) {
      last.last = i;
      last.steps.push(step as ScenarioStep);
    } else blocks.push({ first: i, last: i, steps: [step as ScenarioStep] });
  });
  return blocks;
}

function asV1(scenario: ScenarioV2, block: InputBlock, name?: string): ScenarioV1 {
  const { layout, screen, injector, mouseMode } = scenario.target;
  return {
    version: 1,
    name: name ?? scenario.name,
    target: { vm: scenario.target.pool, injector, ...(mouseMode === undefined ? {} : { mouseMode }), layout, screen },
    observer: scenario.observer,
    ...(scenario.defaults === undefined ? {} : { defaults: scenario.defaults }),
    steps: block.steps,
  };
}

/**
 * The block as a v1 suite named `SUITE · steps A–B` (the report's suite name),
 * its strings' `${name.field}` replaced from `vars`; an unknown name is
 * ATP_SCENARIO_INVALID naming the step. Without `vars` the text stays as
 * written (to plan and count a suite without running it).
 */
export function blockSuite(suite: LoadedSuiteV2, block: InputBlock, vars?: Readonly<Record<string, Readonly<Record<string, unknown>>>>): LoadedSuite {
  const label = block.first === block.last ? `step ${block.first}` : `steps ${block.first}–${block.last}`;
  let steps: ScenarioStep[];
  try {
    steps = vars === undefined ? block.steps : substituteVariables(block.steps, vars, ['steps']);
  } catch (error) {
    throw new AtpError('ATP_SCENARIO_INVALID', `${suite.source}: ${error instanceof Error ? error.message : String(error)}`, { cause: error, details: { source: suite.source } });
  }
  return { scenario: asV1(suite.scenario, { ...block, steps }, `${suite.scenario.name} · ${label}`), source: suite.source };
}
