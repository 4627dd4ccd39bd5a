/**
 * Checking suite files without a VM, through the same loadAnySuite +
 * planSuite path `verify` prepares them with (schema, key names, layouts,
 * text on the layout, positions, the plan's size): `atp-host scenario
 * list|validate` and the HTTP API's /api/v1/suites use it. A suite is a file
 * (`checkSuiteFile`) or text with a name (`checkSuiteText`, for suites sent
 * inline). Every problem names its file; the loader's already carry
 * line:column, and a plan error is placed at the step it came from (each
 * top-level step is planned alone to find it, only on that error path).
 * With `withIssues`, a problem also lists each issue with its line:column.
 * Moved out of cli/scenario.ts so the API checks suites the same way.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { AtpError, formatPath, isAtpError, type IssuePath, type ScenarioStep, type ScenarioV1 } from '@atp/protocol';
import { checkSuiteInputs } from './check-inputs.js';
import { blockSuite, loadAnySuite, parseAnySuiteText, type LoadedAnySuite, type LoadedSuiteV2 } from './load-v2.js';
import { MAX_PLAN_ITEMS, planSuite } from './plan.js';
import { locatePath, type SourcePosition } from './yaml-locate.js';

/** What one file holds, for the table and --json. */
export interface SuiteSummary {
  file: string;
  /** Scenario format: 1 (input on one VM), 2 (platform steps and input on a desk pool's VMs). */
  version: 1 | 2;
  name: string;
  steps: number;
  /** Key downs and ups the plan sends. */
  keys: number;
  textChars: number;
  pointerActions: number;
  /** "agent", "web" or "kind:id". */
  observer: string;
  layout: string;
}

/** One issue of a problem, placed in the text. */
export interface PlacedIssue {
  path: string;
  line: number;
  column: number;
  message: string;
  code: string;
}

export interface FileProblem {
  code: string;
  message: string;
  line?: number;
  column?: number;
  /** Only with `withIssues`. */
  issues?: PlacedIssue[];
}

export type SuiteCheck = ({ ok: true } & SuiteSummary) | { file: string; ok: false; error: FileProblem };

export interface CheckSuiteOptions {
  /** Check text against this layout instead of the suite's (as `verify --layout`). */
  layout?: string;
  /** List every issue with its place in `error.issues`. */
  withIssues?: boolean;
}

/** Where the suite's text comes from: a file, or text given with a name. */
interface SuiteSource {
  file: string;
  text?: string;
}

function counts(steps: readonly ScenarioStep[], times: number, into: { textChars: number; pointerActions: number }): void {
  for (const s of steps) {
    if ('repeat' in s) counts(s.repeat.steps, times * s.repeat.times, into);
    else if ('type' in s) into.textChars += [...s.type].length * times;
    else if ('click' in s) into.pointerActions += s.count * times;
    else if ('move' in s || 'moveBy' in s || 'drag' in s || 'wheel' in s) into.pointerActions += times;
  }
}

/** Places paths in the suite's YAML (read once more: only error paths need it); undefined when it cannot be read again. */
async function locator(source: SuiteSource): Promise<(issuePath: IssuePath) => SourcePosition | undefined> {
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(source.text ?? (await readFile(source.file, 'utf8')), { lineCounter });
    return (issuePath) => locatePath(doc, lineCounter, issuePath);
  } catch {
    return () => undefined;
  }
}

/** The top-level step whose plan throws, or pushes the plan over MAX_PLAN_ITEMS (each step planned alone). */
function failingStep(scenario: ScenarioV1): number | undefined {
  let items = 0;
  for (const [i, step] of scenario.steps.entries()) {
    try {
      items += planSuite({ ...scenario, steps: [step] }).items.filter((it) => !(it.kind === 'expect' && it.implicit === true)).length;
    } catch (error) {
      if (isAtpError(error)) return i;
      throw error;
    }
    if (items > MAX_PLAN_ITEMS) return i;
  }
  return undefined;
}

const asNumber = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** The loader's issues (ATP_SCENARIO_INVALID details.issues, ATP_SCENARIO_YAML details.errors) with their places. */
function loaderIssues(error: AtpError): PlacedIssue[] {
  const raw = error.details['issues'] ?? error.details['errors'];
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((i: unknown): PlacedIssue[] => {
    if (typeof i !== 'object' || i === null) return [];
    const r = i as Record<string, unknown>;
    const line = asNumber(r.line);
    const column = asNumber(r.column);
    if (line === undefined || column === undefined) return [];
    const where = typeof r.pathText === 'string' ? r.pathText : '(yaml)';
    return [{ path: where, line, column, message: String(r.message ?? ''), code: String(r.code ?? error.code) }];
  });
}

function problemOf(error: AtpError, withIssues: boolean): FileProblem {
  const { line, column } = error.details;
  const issues = withIssues ? loaderIssues(error) : [];
  return { code: error.code, message: error.message, ...(typeof line === 'number' && typeof column === 'number' ? { line, column } : {}), ...(withIssues ? { issues } : {}) };
}

/** The layout's own text checks, with the suite's layout replaced (as `verify --layout` does); issues placed like the loader's. */
async function layoutProblem(source: SuiteSource, scenario: ScenarioV1, layout: string, withIssues: boolean): Promise<FileProblem | undefined> {
  const { file } = source;
  const issues = checkSuiteInputs(scenario);
  if (issues.length === 0) return undefined;
  const locate = await locator(source);
  const placed = issues.map((i) => ({ ...i, at: locate(i.path) }));
  const lines = placed.map((i) => `  ${file}${i.at === undefined ? '' : `:${i.at.line}:${i.at.column}`}: ${i.pathText}: ${i.message}`);
  const first = placed[0]?.at;
  const head = `${file}: invalid scenario on layout '${layout}' (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}):`;
  const listed = placed.flatMap((i) => (i.at === undefined ? [] : [{ path: i.pathText, line: i.at.line, column: i.at.column, message: i.message, code: i.code }]));
  return { code: 'ATP_SCENARIO_INVALID', message: [head, ...lines].join('\n'), ...(first === undefined ? {} : { line: first.line, column: first.column }), ...(withIssues ? { issues: listed } : {}) };
}

/** A plan error placed at top-level step `step` of the file. */
async function planProblem(source: SuiteSource, error: AtpError, step: number | undefined, withIssues: boolean): Promise<FileProblem> {
  const at = step === undefined ? undefined : (await locator(source))(['steps', step]);
  const where = `${source.file}${at === undefined ? '' : `:${at.line}:${at.column}`}${step === undefined ? '' : `: steps[${step}]`}`;
  const issues = at === undefined || step === undefined ? [] : [{ path: formatPath(['steps', step]), ...at, message: error.message, code: error.code }];
  return { code: error.code, message: `${where}: ${error.message}`, ...(at ?? {}), ...(withIssues ? { issues } : {}) };
}

/** Loads and plans one file; a typed error becomes the file's problem, anything else is a bug and propagates. */
export function checkSuiteFile(file: string, options: CheckSuiteOptions = {}): Promise<SuiteCheck> {
  return checkSource({ file }, options);
}

/** Checks suite text as if it were the file `fileName` (messages name it). */
export function checkSuiteText(text: string, fileName: string, options: CheckSuiteOptions = {}): Promise<SuiteCheck> {
  return checkSource({ file: fileName, text }, options);
}

async function checkSource(source: SuiteSource, options: CheckSuiteOptions): Promise<SuiteCheck> {
  const { file } = source;
  const withIssues = options.withIssues === true;
  let loaded: LoadedAnySuite;
  try {
    loaded = source.text === undefined ? await loadAnySuite(file) : parseAnySuiteText(source.text, file);
  } catch (error) {
    if (!isAtpError(error)) throw error;
    return { file, ok: false, error: problemOf(error, withIssues) };
  }
  if (loaded.version === 2) return checkV2(source, loaded, options);
  const { scenario } = loaded;
  if (options.layout !== undefined) {
    scenario.target.layout = options.layout;
    const problem = await layoutProblem(source, scenario, options.layout, withIssues);
    if (problem !== undefined) return { file, ok: false, error: problem };
  }
  try {
    const plan = planSuite(scenario);
    const tally = { textChars: 0, pointerActions: 0 };
    counts(scenario.steps, 1, tally);
    const { kind, id } = scenario.observer;
    return { file, ok: true, version: 1, name: scenario.name, steps: plan.steps, keys: plan.keyTransitions, ...tally, observer: id === undefined ? kind : `${kind}:${id}`, layout: scenario.target.layout };
  } catch (error) {
    if (!isAtpError(error)) throw error;
    return { file, ok: false, error: await planProblem(source, error, failingStep(scenario), withIssues) };
  }
}

/** A v2 suite: every input block planned as the run will plan it (text as written); counts over all blocks. */
async function checkV2(source: SuiteSource, loaded: LoadedSuiteV2, options: CheckSuiteOptions): Promise<SuiteCheck> {
  const { file } = source;
  const withIssues = options.withIssues === true;
  const { scenario } = loaded;
  if (options.layout !== undefined) scenario.target.layout = options.layout;
  let keys = 0;
  const tally = { textChars: 0, pointerActions: 0 };
  for (const block of loaded.blocks) {
    const v1 = blockSuite(loaded, block).scenario;
    if (options.layout !== undefined) {
      const problem = await layoutProblem(source, v1, options.layout, withIssues);
      if (problem !== undefined) return { file, ok: false, error: problem };
    }
    try {
      keys += planSuite(v1).keyTransitions;
    } catch (error) {
      if (!isAtpError(error)) throw error;
      return { file, ok: false, error: await planProblem(source, error, block.first + (failingStep(v1) ?? 0), withIssues) };
    }
    counts(block.steps, 1, tally);
  }
  const { kind, id } = scenario.observer;
  return { file, ok: true, version: 2, name: scenario.name, steps: scenario.steps.length, keys, ...tally, observer: id === undefined ? kind : `${kind}:${id}`, layout: scenario.target.layout };
}

/** The *.yaml / *.yml files directly in `dir`, sorted; ATP_SCENARIO_READ when `dir` is not a readable directory. */
export async function suiteFilesIn(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => !e.isDirectory() && /\.ya?ml$/i.test(e.name)).map((e) => e.name).sort().map((name) => path.join(dir, name));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : code === 'EACCES' ? 'permission denied' : error instanceof Error ? error.message : String(error);
    throw new AtpError('ATP_SCENARIO_READ', `${dir}: cannot list suite files: ${reason}`, { cause: error, details: { source: dir, ...(code === undefined ? {} : { errno: code }) } });
  }
}
