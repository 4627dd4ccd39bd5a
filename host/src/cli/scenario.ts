/**
 * `atp-host scenario list [DIR]` and `atp-host scenario validate FILE...`: look
 * at suites without a VM, through the same loadSuite + planSuite path `verify`
 * prepares them with (schema, key names, layouts, text on the layout, positions,
 * the plan's size).
 *
 *  - list: every *.yaml / *.yml directly in DIR (default ./scenarios; not
 *    recursive: a suite directory is flat, and subfolders hold fixtures or
 *    drafts), sorted by name, as a table: file, suite name, top-level steps, key
 *    transitions (downs + ups, from the plan), text characters (of type steps),
 *    pointer actions (move, moveBy, drag, wheel, and each click of a count),
 *    observer, layout; both counts expand repeats. `--json`: an array.
 *  - validate: `ok FILE: N steps, M key transitions` per good file, the typed
 *    error per bad one; `--layout` checks the text against the layout `verify
 *    --layout` would use (like verify, after the loader has checked it against
 *    the suite's own layout). `--json`: [{ file, ok, steps?, keys?, error? }].
 * Every problem names its file; the loader's already carry line:column, and a
 * plan error is placed at the step it came from (each top-level step is planned
 * alone to find it, only on that error path).
 * Exit codes: 0 all good, 2 a file did not load or plan, or a usage error.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { LineCounter, parseDocument } from 'yaml';
import { AtpError, isAtpError, type IssuePath, type ScenarioStep, type ScenarioV1 } from '@atp/protocol';
import { getLayout } from '../inject/index.js';
import { blockSuite, checkSuiteInputs, loadAnySuite, locatePath, MAX_PLAN_ITEMS, planSuite, type LoadedAnySuite, type LoadedSuiteV2, type SourcePosition } from '../scenario/index.js';
import type { CliIo } from './program.js';

/** program.ts's exit codes (a value import from it would be a cycle). */
const EXIT_OK = 0;
const EXIT_USAGE = 2;

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

export interface FileProblem {
  code: string;
  message: string;
  line?: number;
  column?: number;
}

export type SuiteCheck = ({ ok: true } & SuiteSummary) | { file: string; ok: false; error: FileProblem };

interface Flags {
  json?: boolean;
  layout?: string;
}

function counts(steps: readonly ScenarioStep[], times: number, into: { textChars: number; pointerActions: number }): void {
  for (const s of steps) {
    if ('repeat' in s) counts(s.repeat.steps, times * s.repeat.times, into);
    else if ('type' in s) into.textChars += [...s.type].length * times;
    else if ('click' in s) into.pointerActions += s.count * times;
    else if ('move' in s || 'moveBy' in s || 'drag' in s || 'wheel' in s) into.pointerActions += times;
  }
}

/** Places paths in the file's YAML (read once more: only error paths need it); undefined when it cannot be read again. */
async function locator(file: string): Promise<(issuePath: IssuePath) => SourcePosition | undefined> {
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(await readFile(file, 'utf8'), { lineCounter });
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

function problemOf(error: AtpError): FileProblem {
  const { line, column } = error.details;
  return { code: error.code, message: error.message, ...(typeof line === 'number' && typeof column === 'number' ? { line, column } : {}) };
}

/** The layout's own text checks, with the suite's layout replaced (as `verify --layout` does); issues placed like the loader's. */
async function layoutProblem(file: string, scenario: ScenarioV1, layout: string): Promise<FileProblem | undefined> {
  const issues = checkSuiteInputs(scenario);
  if (issues.length === 0) return undefined;
  const locate = await locator(file);
  const placed = issues.map((i) => ({ ...i, at: locate(i.path) }));
  const lines = placed.map((i) => `  ${file}${i.at === undefined ? '' : `:${i.at.line}:${i.at.column}`}: ${i.pathText}: ${i.message}`);
  const first = placed[0]?.at;
  const head = `${file}: invalid scenario on layout '${layout}' (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}):`;
  return { code: 'ATP_SCENARIO_INVALID', message: [head, ...lines].join('\n'), ...(first === undefined ? {} : { line: first.line, column: first.column }) };
}

/** Loads and plans one file; a typed error becomes the file's problem, anything else is a bug and propagates. */
export async function checkSuiteFile(file: string, options: { layout?: string } = {}): Promise<SuiteCheck> {
  let loaded: LoadedAnySuite;
  try {
    loaded = await loadAnySuite(file);
  } catch (error) {
    if (!isAtpError(error)) throw error;
    return { file, ok: false, error: problemOf(error) };
  }
  if (loaded.version === 2) return checkV2(file, loaded, options);
  const { scenario } = loaded;
  if (options.layout !== undefined) {
    scenario.target.layout = options.layout;
    const problem = await layoutProblem(file, scenario, options.layout);
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
    const step = failingStep(scenario);
    const at = step === undefined ? undefined : (await locator(file))(['steps', step]);
    const where = `${file}${at === undefined ? '' : `:${at.line}:${at.column}`}${step === undefined ? '' : `: steps[${step}]`}`;
    return { file, ok: false, error: { code: error.code, message: `${where}: ${error.message}`, ...(at ?? {}) } };
  }
}

/** A v2 suite: every input block planned as the run will plan it (text as written); counts over all blocks. */
async function checkV2(file: string, loaded: LoadedSuiteV2, options: { layout?: string }): Promise<SuiteCheck> {
  const { scenario } = loaded;
  if (options.layout !== undefined) scenario.target.layout = options.layout;
  let keys = 0;
  const tally = { textChars: 0, pointerActions: 0 };
  for (const block of loaded.blocks) {
    const v1 = blockSuite(loaded, block).scenario;
    if (options.layout !== undefined) {
      const problem = await layoutProblem(file, v1, options.layout);
      if (problem !== undefined) return { file, ok: false, error: problem };
    }
    try {
      keys += planSuite(v1).keyTransitions;
    } catch (error) {
      if (!isAtpError(error)) throw error;
      const step = block.first + (failingStep(v1) ?? 0);
      const at = (await locator(file))(['steps', step]);
      return { file, ok: false, error: { code: error.code, message: `${file}${at === undefined ? '' : `:${at.line}:${at.column}`}: steps[${step}]: ${error.message}`, ...(at ?? {}) } };
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

const indent = (text: string): string => text.split('\n').map((l) => `  ${l}`).join('\n');

const COLUMNS = [
  { head: 'FILE', right: false },
  { head: 'SUITE', right: false },
  { head: 'STEPS', right: true },
  { head: 'KEY TRANSITIONS', right: true },
  { head: 'TEXT CHARS', right: true },
  { head: 'POINTER ACTIONS', right: true },
  { head: 'OBSERVER', right: false },
  { head: 'LAYOUT', right: false },
] as const;

/** The list table; a bad file's row shows its error code, its message indented below it. */
export function formatSuiteTable(checks: readonly SuiteCheck[]): string {
  const rows = checks.map((c) => (c.ok ? [c.file, c.name, c.steps, c.keys, c.textChars, c.pointerActions, c.observer, c.layout].map(String) : [c.file, c.error.code]));
  // The file column fits every row; the others only the full rows (an error row's code runs on past them).
  const widths = COLUMNS.map((col, i) => Math.max(col.head.length, ...rows.filter((r) => i === 0 || r.length === COLUMNS.length).map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : COLUMNS[i]?.right === true ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const out = [line(COLUMNS.map((c) => c.head))];
  checks.forEach((c, i) => {
    const row = rows[i] ?? [];
    if (c.ok) out.push(line(row));
    else out.push(`${(row[0] ?? '').padEnd(widths[0] ?? 0)}  ${row[1] ?? ''}`, indent(c.error.message));
  });
  return `${out.join('\n')}\n`;
}

function validateJson(c: SuiteCheck): object {
  return c.ok ? { file: c.file, ok: true, version: c.version, steps: c.steps, keys: c.keys } : c;
}

export function registerScenarioCommands(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const group = program.command('scenario').description('suite files: list and validate them without a VM');

  group
    .command('list')
    .description('every suite file (*.yaml, *.yml) in DIR with its steps, key transitions, text, pointer actions, observer and layout')
    .argument('[dir]', 'the suite directory (not recursive)', 'scenarios')
    .option('--json', 'print an array of objects instead of the table')
    .action(async (dir: string, flags: Flags) => {
      const files = await suiteFilesIn(dir);
      const checks: SuiteCheck[] = [];
      for (const file of files) checks.push(await checkSuiteFile(file));
      if (flags.json === true) io.out(`${JSON.stringify(checks, null, 2)}\n`);
      else if (files.length === 0) io.err(`no suite files (*.yaml, *.yml) in ${dir}\n`);
      else io.out(formatSuiteTable(checks));
      setExitCode(checks.every((c) => c.ok) ? EXIT_OK : EXIT_USAGE);
    });

  group
    .command('validate')
    .description('check suite files as verify would before it starts: schema, key names, layouts, text on the layout, positions, plan size')
    .argument('[file...]', 'suite files (YAML)')
    .option('--layout <name>', "check text against this layout instead of the suites' (as verify --layout)")
    .option('--json', 'print [{ file, ok, steps?, keys?, error? }]')
    .action(async (files: string[], flags: Flags) => {
      if (files.length === 0) throw new AtpError('ATP_SCHEMA_INVALID', 'no suite file given (atp-host scenario validate [--layout NAME] [--json] FILE...)', { details: { field: 'command line' } });
      if (flags.layout !== undefined) getLayout(flags.layout);
      const checks: SuiteCheck[] = [];
      for (const file of files) {
        const check = await checkSuiteFile(file, flags.layout === undefined ? {} : { layout: flags.layout });
        checks.push(check);
        if (flags.json === true) continue;
        if (check.ok) io.out(`ok ${file}: ${check.steps} ${check.steps === 1 ? 'step' : 'steps'}, ${check.keys} key transitions\n`);
        else io.out(`error ${file}: ${check.error.code}\n${indent(check.error.message)}\n`);
      }
      if (flags.json === true) io.out(`${JSON.stringify(checks.map(validateJson), null, 2)}\n`);
      const bad = checks.filter((c) => !c.ok).length;
      if (bad > 0 && flags.json !== true) io.err(`${bad} of ${checks.length} suite ${checks.length === 1 ? 'file is' : 'files are'} invalid\n`);
      setExitCode(bad === 0 ? EXIT_OK : EXIT_USAGE);
    });
}
