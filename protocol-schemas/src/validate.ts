/**
 * One way to validate external input (socket bytes, files, reports) against a
 * zod schema: the result is the parsed value or an AtpError('ATP_SCHEMA_INVALID')
 * whose message names each offending field by path (`body.events[3].seq`) and
 * the input's source (a file name, "agent a1", ...). `details.issues` carries
 * every issue with its path as an array of keys and indices, so a caller can map
 * it back to a position in the original text (YAML line and column, say).
 */
import type { z } from 'zod';
import { AtpError } from './errors.js';

export type IssuePath = ReadonlyArray<string | number>;

export interface ValidationIssue {
  /** Keys and array indices from the root of the value to the offending field. */
  path: IssuePath;
  /** The same path as text, e.g. `body.events[3].seq` (`(root)` for the value itself). */
  pathText: string;
  /** What is wrong, for humans. */
  message: string;
  /** zod's issue code (invalid_type, unrecognized_keys, custom, ...). */
  code: string;
}

export interface ParseContext {
  /** Where the value came from: a file name, "agent a1", "QMP reply", ... */
  source?: string;
  /** What the value is meant to be, e.g. "agent message" or "scenario". */
  what?: string;
}

/** Issues listed in the error message itself; all of them are in `details.issues`. */
const MESSAGE_ISSUES = 3;

/** Parses `value` with `schema`, or throws ATP_SCHEMA_INVALID naming every bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, context: ParseContext = {}): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw schemaError(toValidationIssues(result.error.issues), context);
}

/** Builds the ATP_SCHEMA_INVALID error for a list of issues (also used for hand-made checks). */
export function schemaError(issues: readonly ValidationIssue[], context: ParseContext = {}): AtpError {
  const head = [context.source, context.what === undefined ? undefined : `invalid ${context.what}`]
    .filter((s): s is string => s !== undefined && s !== '')
    .join(': ');
  const listed = issues.slice(0, MESSAGE_ISSUES).map((i) => `${i.pathText}: ${i.message}`);
  const more = issues.length > MESSAGE_ISSUES ? ` (and ${issues.length - MESSAGE_ISSUES} more)` : '';
  const body = `${listed.join('; ')}${more}`;
  return new AtpError('ATP_SCHEMA_INVALID', head === '' ? body : `${head}: ${body}`, {
    details: { ...(context.source === undefined ? {} : { source: context.source }), issues },
  });
}

/** Formats a path the way a JavaScript reader would write it. */
export function formatPath(path: IssuePath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out === '' ? '(root)' : out;
}

/** zod issues → ValidationIssues: paths made plain, unknown keys one issue each, no input echoed. */
export function toValidationIssues(issues: readonly z.core.$ZodIssue[], prefix: IssuePath = []): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push(make([...path, key], 'unknown field', issue.code));
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the alternative that came closest: prefer those whose own type matched
      // (no type error at the union's own path), then the one with the fewest issues.
      const typeMatched = issue.errors.filter((e) => !e.some((i) => i.path.length === 0 && i.code === 'invalid_type'));
      const candidates = typeMatched.length > 0 ? typeMatched : issue.errors;
      const closest = candidates.reduce((best, e) => (e.length < best.length ? e : best));
      out.push(...toValidationIssues(closest, path));
    } else {
      // Issues re-raised by a nested parse (scenario steps) keep their original code in params.
      const code = issue.code === 'custom' && typeof issue.params?.['code'] === 'string' ? issue.params['code'] : issue.code;
      out.push(make(path, describe(issue), code));
    }
  }
  return out;
}

function make(path: IssuePath, message: string, code: string): ValidationIssue {
  return { path, pathText: formatPath(path), message, code };
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `missing (expected ${issue.expected})`;
      return `expected ${issue.expected}, got ${typeName(issue.input)}`;
    case 'invalid_value':
      if (issue.input === undefined) return `missing (expected ${issue.values.map((v) => JSON.stringify(v)).join(' | ')})`;
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}, got ${preview(issue.input)}`;
    case 'invalid_format':
      return typeof issue.input === 'string' ? `${issue.message}, got ${preview(issue.input)}` : issue.message;
    default:
      return issue.message;
  }
}

/** The JSON-ish type of a value, as a reader of the input would name it. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value;
}

function preview(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeName(value);
}
