/**
 * `atp-host runs list|show ID|export ID|delete ID`: the run history that
 * `atp-host serve` keeps (CONFIG_DIR/runs.db, history/run-store.ts), read
 * from the same file, also while a server writes to it. IDs may be shortened
 * to a prefix that names one run. `--json` prints the API's shapes
 * (ApiRunSummary / ApiRunDetail); `export` writes the report as JSON, JUnit
 * XML or the self-contained HTML page (to --out FILE, else stdout).
 * Exit codes: 0 ok, 2 an unknown run, a bad flag or a run that is still
 * going (delete), 3 the store could not be read.
 */
import type { Command } from 'commander';
import { RUN_STATUS_NAMES, RUNS_EXPORT_FORMATS } from './defaults.js';
import type { CliIo } from './program.js';
import type { StoreFlags } from './runs-actions.js';

export function registerRunsCommands(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const runs = program.command('runs').description('the run history atp-host serve keeps (CONFIG_DIR/runs.db): list, show, export and delete runs');

  runs
    .command('list')
    .description('the runs, newest first')
    .option('--limit <n>', 'at most this many runs (default 50)')
    .option('--offset <n>', 'skip this many of the newest first')
    .option('--status <status>', `only runs in this status: ${RUN_STATUS_NAMES.join(', ')}`)
    .option('--config-dir <dir>', 'config directory holding runs.db')
    .option('--json', 'print { runs, total } as JSON (the API shapes)')
    .action(async (flags: StoreFlags & { limit?: string; offset?: string; status?: string; json?: boolean }) => (await import('./runs-actions.js')).listRuns(flags, io, setExitCode));

  runs
    .command('show')
    .description("a run's status, targets, suites, per-VM progress and its report summary")
    .argument('<id>', 'run id (or a prefix naming one run)')
    .option('--config-dir <dir>', 'config directory holding runs.db')
    .option('--json', 'print the run detail as JSON (the API shape)')
    .action(async (id: string, flags: StoreFlags & { json?: boolean }) => (await import('./runs-actions.js')).showRun(id, flags, io, setExitCode));

  runs
    .command('export')
    .description("write a run's report as JSON, JUnit XML or one self-contained HTML page")
    .argument('<id>', 'run id (or a prefix naming one run)')
    .requiredOption('--format <format>', `one of ${RUNS_EXPORT_FORMATS.join(', ')}`)
    .option('--out <file>', 'write here (atomically) instead of stdout')
    .option('--config-dir <dir>', 'config directory holding runs.db')
    .action(async (id: string, flags: StoreFlags & { format: string; out?: string }) => (await import('./runs-actions.js')).exportRun(id, flags, io, setExitCode));

  runs
    .command('delete')
    .description('delete an ended run with its events and report')
    .argument('<id>', 'run id (or a prefix naming one run)')
    .option('--force', 'also a run the history says is still going (its server is gone and was not restarted)')
    .option('--config-dir <dir>', 'config directory holding runs.db')
    .action(async (id: string, flags: StoreFlags & { force?: boolean }) => (await import('./runs-actions.js')).deleteRun(id, flags, io, setExitCode));
}
