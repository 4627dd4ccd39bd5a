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
 * The checks live in scenario/check-suite.ts (the HTTP API's /api/v1/suites
 * uses them too); this file lists, prints and sets the exit code.
 */
import type { Command } from 'commander';
import { AtpError } from '@atp/protocol';
import { getLayout } from '../inject/index.js';
import { checkSuiteFile, suiteFilesIn, type SuiteCheck } from '../scenario/check-suite.js';
import type { CliIo } from './program.js';

/** program.ts's exit codes (a value import from it would be a cycle). */
const EXIT_OK = 0;
const EXIT_USAGE = 2;

interface Flags {
  json?: boolean;
  layout?: string;
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
