/**
 * What `atp-host scenario list|validate` do (scenario.ts defines the commands
 * and loads this when one runs): check the files through
 * scenario/check-suite.ts, print, and return the exit code.
 */
import { AtpError } from '@atp/protocol';
import { getLayout } from '../inject/layouts/layout.js';
import { checkSuiteFile, suiteFilesIn, type SuiteCheck } from '../scenario/check-suite.js';
import { EXIT_OK, EXIT_USAGE } from './exit-status.js';
import type { CliIo } from './program.js';

export interface ScenarioFlags {
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

export async function listSuites(dir: string, flags: ScenarioFlags, io: CliIo): Promise<number> {
  const files = await suiteFilesIn(dir);
  const checks: SuiteCheck[] = [];
  for (const file of files) checks.push(await checkSuiteFile(file));
  if (flags.json === true) io.out(`${JSON.stringify(checks, null, 2)}\n`);
  else if (files.length === 0) io.err(`no suite files (*.yaml, *.yml) in ${dir}\n`);
  else io.out(formatSuiteTable(checks));
  return checks.every((c) => c.ok) ? EXIT_OK : EXIT_USAGE;
}

export async function validateSuites(files: readonly string[], flags: ScenarioFlags, io: CliIo): Promise<number> {
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
  return bad === 0 ? EXIT_OK : EXIT_USAGE;
}
