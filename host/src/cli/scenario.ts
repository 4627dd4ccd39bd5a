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
 * uses them too); scenario-actions.ts lists, prints and says the exit code.
 */
import type { Command } from 'commander';
import type { CliIo } from './program.js';
import type { ScenarioFlags } from './scenario-actions.js';

export function registerScenarioCommands(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const group = program.command('scenario').description('suite files: list and validate them without a VM');

  group
    .command('list')
    .description('every suite file (*.yaml, *.yml) in DIR with its steps, key transitions, text, pointer actions, observer and layout')
    .argument('[dir]', 'the suite directory (not recursive)', 'scenarios')
    .option('--json', 'print an array of objects instead of the table')
    .action(async (dir: string, flags: ScenarioFlags) => setExitCode(await (await import('./scenario-actions.js')).listSuites(dir, flags, io)));

  group
    .command('validate')
    .description('check suite files as verify would before it starts: schema, key names, layouts, text on the layout, positions, plan size')
    .argument('[file...]', 'suite files (YAML)')
    .option('--layout <name>', "check text against this layout instead of the suites' (as verify --layout)")
    .option('--json', 'print [{ file, ok, steps?, keys?, error? }]')
    .action(async (files: string[], flags: ScenarioFlags) => setExitCode(await (await import('./scenario-actions.js')).validateSuites(files, flags, io)));
}
