/**
 * Loading suites: YAML text → a validated ScenarioV1, with every error pointing
 * at file:line:column.
 *
 *  - YAML syntax errors (and duplicate keys) → ATP_SCENARIO_YAML.
 *  - Schema errors from parseScenario, and what checkSuiteInputs finds (unknown
 *    key names, untypable text, off-screen positions) → ATP_SCENARIO_INVALID,
 *    each issue mapped to the YAML node it is about (yaml-locate.ts).
 *  - The file cannot be read (missing, a directory, too large, not UTF-8) → ATP_SCENARIO_READ.
 *
 * A `version: 2` suite (platform steps) is loaded by load-v2.ts; `loadSuite`
 * refuses it with a message saying how to run it.
 *
 * One file holds one suite. A second YAML document (`---`) is an error rather
 * than a second suite: a suite's report entry names its file as its source, and
 * one file per suite keeps that name meaningful. Split such a file in two.
 */
import { readFile, stat } from 'node:fs/promises';
import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import { AtpError, isAtpError, parseScenario, type IssuePath, type ScenarioV1, type ValidationIssue } from '@atp/protocol';
import { checkSuiteInputs } from './check-inputs.js';
import { locatePath, toPosition } from './yaml-locate.js';

export interface LoadedSuite {
  scenario: ScenarioV1;
  /** The file name as given (or the name passed to parseSuiteText). */
  source: string;
}

/** One problem in a suite file, with its place in the text (1-based line and column). */
export interface SuiteIssue {
  path: IssuePath;
  pathText: string;
  line: number;
  column: number;
  message: string;
  code: string;
}

export interface ParseSuiteOptions {
  /** Also check key names, text and positions against the key table and layouts (default true). */
  checkInputs?: boolean;
}

/** Suites larger than this are refused before reading: no hand-written suite comes close. */
export const MAX_SUITE_BYTES = 8 * 1024 * 1024;
/** Issues spelled out in the error message; all of them are in details.issues. */
const MESSAGE_ISSUES = 20;
/** YAML's own cap on alias expansion (a "billion laughs" file fails instead of eating memory). */
const MAX_ALIAS_COUNT = 1000;

/** Reads and parses one suite file. */
export async function loadSuite(path: string, options: ParseSuiteOptions = {}): Promise<LoadedSuite> {
  return parseSuiteText(await readSuiteFile(path), path, options);
}

/** Parses suite text; `fileName` names it in errors and becomes `source`. A v2 suite is refused here (loadAnySuite takes both). */
export function parseSuiteText(text: string, fileName: string, options: ParseSuiteOptions = {}): LoadedSuite {
  const parsed = parseSuiteYaml(text, fileName);
  if (isVersion2(parsed.value)) {
    throw new AtpError('ATP_SCENARIO_INVALID', `${fileName}: a version 2 suite (platform steps) runs on its own: atp-host verify ${fileName} --token T`, { details: { source: fileName } });
  }
  return parseV1(parsed, fileName, options);
}

/** The YAML document of a suite file and its plain value. */
export interface ParsedSuiteYaml {
  value: unknown;
  doc: Document;
  lineCounter: LineCounter;
}

export function isVersion2(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { version?: unknown }).version === 2;
}

export function parseSuiteYaml(text: string, fileName: string): ParsedSuiteYaml {
  const lineCounter = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    // The yaml parser recurses per nesting level: thousands of levels overflow its stack.
    throw tooDeepError(text, fileName, error);
  }
  if (doc.errors.length > 0) throw yamlError(doc, lineCounter, fileName);
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), doc, lineCounter };
  } catch (error) {
    if (error instanceof RangeError) throw tooDeepError(text, fileName, error);
    // Alias expansion over the cap, or an alias to nothing: the first alias is where to look.
    const reason = error instanceof Error ? error.message : String(error);
    const { line, column } = toPosition(lineCounter, firstAliasOffset(doc));
    throw new AtpError('ATP_SCENARIO_YAML', `${fileName}:${line}:${column}: YAML could not be converted (first alias here): ${reason}`, {
      cause: error,
      details: { source: fileName, line, column },
    });
  }
}

/** ATP_SCENARIO_YAML at the first run of 50 or more nesting indicators (`- `, `[`, `{`, `? `, `: `), or 1:1. */
function tooDeepError(text: string, fileName: string, cause: unknown): AtpError {
  const offset = /(?:[-?:] +|[[{] *){50,}/.exec(text)?.index ?? 0;
  const line = (text.slice(0, offset).match(/\n/g)?.length ?? 0) + 1;
  const column = offset - text.lastIndexOf('\n', offset - 1);
  return new AtpError('ATP_SCENARIO_YAML', `${fileName}:${line}:${column}: YAML nested too deeply to read`, { cause, details: { source: fileName, line, column } });
}

/** Where the document's first alias (`*name`) starts, or 0. */
function firstAliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

function parseV1({ value, doc, lineCounter }: ParsedSuiteYaml, fileName: string, options: ParseSuiteOptions): LoadedSuite {
  let scenario: ScenarioV1;
  try {
    scenario = parseScenario(value, fileName);
  } catch (error) {
    if (!isAtpError(error, 'ATP_SCHEMA_INVALID')) throw error;
    throw invalidError(fileName, toSuiteIssues(error.details['issues'], doc, lineCounter), error);
  }
  if (options.checkInputs ?? true) {
    const issues = checkSuiteInputs(scenario);
    if (issues.length > 0) throw invalidError(fileName, toSuiteIssues(issues, doc, lineCounter));
  }
  return { scenario, source: fileName };
}

/** Reads a suite file's text (size, UTF-8 and read errors as ATP_SCENARIO_READ). */
export async function readSuiteText(path: string): Promise<string> {
  return readSuiteFile(path);
}

async function readSuiteFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new AtpError('ATP_SCENARIO_READ', `${path}: is a directory, not a suite file`, { details: { source: path } });
    if (info.size > MAX_SUITE_BYTES) {
      throw new AtpError('ATP_SCENARIO_READ', `${path}: ${info.size} bytes is more than a suite may hold (${MAX_SUITE_BYTES})`, { details: { source: path, size: info.size } });
    }
    bytes = await readFile(path);
  } catch (error) {
    if (isAtpError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : error instanceof Error ? error.message : String(error);
    throw new AtpError('ATP_SCENARIO_READ', `${path}: cannot read suite file: ${reason}`, { cause: error, details: { source: path, ...(code === undefined ? {} : { errno: code }) } });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new AtpError('ATP_SCENARIO_READ', `${path}: suite file is not valid UTF-8`, { cause: error, details: { source: path } });
  }
}

function yamlError(doc: Document, lineCounter: LineCounter, fileName: string): AtpError {
  const errors = doc.errors.map((e) => {
    const { line, column } = toPosition(lineCounter, e.pos[0]);
    const message = e.code === 'MULTIPLE_DOCS' ? 'a suite file holds one YAML document; a second one starts here (put each suite in its own file)' : e.message.split('\n')[0] ?? e.message;
    return { line, column, code: e.code, message };
  });
  const first = errors[0];
  const lines = errors.slice(0, MESSAGE_ISSUES).map((e, i) => `${i === 0 ? '' : '  '}${fileName}:${e.line}:${e.column}: YAML syntax error: ${e.message}`);
  if (errors.length > MESSAGE_ISSUES) lines.push(`  … and ${errors.length - MESSAGE_ISSUES} more`);
  return new AtpError('ATP_SCENARIO_YAML', lines.join('\n'), {
    details: { source: fileName, line: first?.line, column: first?.column, errors },
  });
}

/** Issues whose subject is a key rather than a value (the key is what is wrong). */
function aboutKey(issue: ValidationIssue): boolean {
  return issue.code === 'unrecognized_keys' || /^unknown (field|option)\b/.test(issue.message);
}

function isIssue(value: unknown): value is ValidationIssue {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<ValidationIssue>;
  return Array.isArray(v.path) && typeof v.message === 'string' && typeof v.pathText === 'string';
}

export function toSuiteIssues(raw: unknown, doc: Document, lineCounter: LineCounter): SuiteIssue[] {
  const issues = Array.isArray(raw) ? raw.filter(isIssue) : [];
  return issues
    .map((i): SuiteIssue => {
      const { line, column } = locatePath(doc, lineCounter, i.path, aboutKey(i));
      return { path: i.path, pathText: i.pathText, line, column, message: i.message, code: i.code };
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

export function invalidError(fileName: string, issues: readonly SuiteIssue[], cause?: unknown): AtpError {
  const lines = issues.slice(0, MESSAGE_ISSUES).map((i) => `${fileName}:${i.line}:${i.column}: ${i.pathText}: ${i.message}`);
  if (issues.length > MESSAGE_ISSUES) lines.push(`… and ${issues.length - MESSAGE_ISSUES} more`);
  const head = `${fileName}: invalid scenario (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'})`;
  const first = issues[0];
  return new AtpError('ATP_SCENARIO_INVALID', `${head}:\n${lines.map((l) => `  ${l}`).join('\n')}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { source: fileName, line: first?.line, column: first?.column, issues },
  });
}
