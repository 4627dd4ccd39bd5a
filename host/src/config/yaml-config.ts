/**
 * The YAML config files' common plumbing (hosts.yaml, platforms.yaml).
 * Reading: a missing file is an empty config; bad YAML → ATP_CONFIG_YAML
 * (file:line:col); a schema problem → ATP_SCHEMA_INVALID naming the file, each
 * field's path and its line:col. Writing edits the YAML document (comments
 * survive), validates the result and replaces the file atomically (temp file in
 * the same directory, mode 0600, rename). A kind marked `private` (hosts.yaml:
 * it says which hosts ATP reaches over SSH and with which keys) must be a
 * regular file that group and other may neither read nor write, else
 * ATP_CONFIG_FILE_MODE names the file, its mode and `chmod 600 FILE`.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { Document, isCollection, isMap, isScalar, LineCounter, parseDocument, visit } from 'yaml';
import { AtpError, parseWith, schemaError, type ValidationIssue } from '@atp/protocol';

export interface ConfigFileKind<S extends z.ZodType> {
  /** 'hosts config', 'platforms config': names the file's role in errors. */
  what: string;
  schema: S;
  /** The top-level map the entries live in ('hosts', 'platforms'). */
  section: string;
  /** The commented file written when there is none. */
  defaultText: string;
  /** Refuse the file unless it is regular and private to its owner (mode 0600 or stricter). */
  private?: boolean;
}

export const configReadError = (file: string, cause: unknown): AtpError =>
  new AtpError('ATP_CONFIG_READ', `${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, details: { file } });

/** The file's text, or undefined when it does not exist; `privateFile` applies the mode rule. */
async function readConfigText(file: string, privateFile: boolean): Promise<string | undefined> {
  try {
    if (!privateFile) return await readFile(file, 'utf8');
    // O_NONBLOCK: a FIFO in its place cannot hang the open; the checks are on the file opened.
    const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const stat = await handle.stat();
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      if (!stat.isFile()) throw new AtpError('ATP_CONFIG_FILE_MODE', `${file}: is not a regular file`, { details: { file } });
      if ((stat.mode & 0o077) !== 0) {
        throw new AtpError('ATP_CONFIG_FILE_MODE', `${file}: group or other may read or write it (mode ${mode}); it names the hosts and keys ATP connects with: run chmod 600 ${file}`, { details: { file, mode } });
      }
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (cause) {
    if (cause instanceof AtpError) throw cause;
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw configReadError(file, cause);
  }
}

export async function readConfigDocument(file: string, section: string, options: { private?: boolean } = {}): Promise<{ doc: Document; lines: LineCounter; exists: boolean }> {
  const text = await readConfigText(file, options.private === true);
  if (text === undefined) return { doc: new Document({ [section]: {} }), lines: new LineCounter(), exists: false };
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  } catch (cause) {
    // The yaml parser recurses per nesting level: thousands of levels overflow its stack.
    throw tooDeepError(text, file, cause);
  }
  const bad = doc.errors[0];
  if (bad) {
    const at = lines.linePos(bad.pos[0]);
    throw new AtpError('ATP_CONFIG_YAML', `${file}:${at.line}:${at.col}: ${bad.message.split('\n')[0] ?? bad.message}`, { details: { file, line: at.line, column: at.col } });
  }
  return { doc, lines, exists: true };
}

/** line:col of the deepest node along `issuePath` that exists (of the key itself for an unknown field). */
function locate(doc: Document, lines: LineCounter, issuePath: readonly (string | number)[], atKey: boolean): { line: number; column: number } | undefined {
  const parent: unknown = issuePath.length === 0 ? undefined : doc.getIn(issuePath.slice(0, -1), true);
  if (atKey && isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(issuePath[issuePath.length - 1]));
    const range = isScalar(pair?.key) ? pair.key.range : undefined;
    if (range) {
      const at = lines.linePos(range[0]);
      return { line: at.line, column: at.col };
    }
  }
  for (let n = issuePath.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(issuePath.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) {
      const at = lines.linePos(range[0]);
      return { line: at.line, column: at.col };
    }
  }
  return undefined;
}

/** The document's value through the file's schema; issues carry line:col. */
export function validateConfigDocument<S extends z.ZodType>(kind: ConfigFileKind<S>, doc: Document, lines: LineCounter, file: string): z.output<S> {
  const value = plainValue(doc, lines, file);
  try {
    return parseWith(kind.schema, value ?? {}, { source: file, what: kind.what });
  } catch (error) {
    if (!(error instanceof AtpError) || !Array.isArray(error.details.issues)) throw error;
    const issues = (error.details.issues as ValidationIssue[]).map((i) => {
      const at = locate(doc, lines, i.path, i.code === 'unrecognized_keys');
      return at ? { ...i, pathText: `${at.line}:${at.column}: ${i.pathText}`, line: at.line, column: at.column } : i;
    });
    throw schemaError(issues, { source: file, what: kind.what });
  }
}

/** Most aliases a config file may expand: a "billion laughs" file fails instead of eating memory. */
const MAX_ALIAS_COUNT = 100; // yaml's own default, now stated

/** The document as plain values; alias expansion over the cap (or an alias to nothing) is ATP_CONFIG_YAML at the first alias. */
function plainValue(doc: Document, lines: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (cause) {
    if (cause instanceof RangeError) throw tooDeepError('', file, cause); // the text is gone here: 1:1
    let offset = 0;
    visit(doc, {
      Alias(_key, node) {
        offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    const at = lines.linePos(offset);
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new AtpError('ATP_CONFIG_YAML', `${file}:${at.line}:${at.col}: YAML could not be converted (first alias here): ${reason}`, { cause, details: { file, line: at.line, column: at.col } });
  }
}

/** ATP_CONFIG_YAML at the first run of 50 or more nesting indicators (`- `, `[`, `{`, `? `, `: `), or 1:1. */
function tooDeepError(text: string, file: string, cause: unknown): AtpError {
  const offset = /(?:[-?:] +|[[{] *){50,}/.exec(text)?.index ?? 0;
  const line = (text.slice(0, offset).match(/\n/g)?.length ?? 0) + 1;
  const column = offset - text.lastIndexOf('\n', offset - 1);
  return new AtpError('ATP_CONFIG_YAML', `${file}:${line}:${column}: YAML nested too deeply to read`, { cause, details: { file, line, column } });
}

export async function loadConfigFile<S extends z.ZodType>(kind: ConfigFileKind<S>, file: string): Promise<{ exists: boolean; value: z.output<S> }> {
  const { doc, lines, exists } = await readConfigDocument(file, kind.section, { private: kind.private === true });
  return { exists, value: validateConfigDocument(kind, doc, lines, file) };
}

/** Replaces `file` atomically with `text`, mode 0600 (the directory is created 0700). */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw configReadError(file, cause);
  }
}

/** Writes the commented default file unless it exists; resolves with whether it wrote. */
export async function initConfigFile<S extends z.ZodType>(kind: ConfigFileKind<S>, file: string): Promise<{ file: string; created: boolean }> {
  const { exists } = await readConfigDocument(file, kind.section, { private: kind.private === true });
  if (exists) return { file, created: false };
  await writeFileAtomic(file, kind.defaultText);
  return { file, created: true };
}

/**
 * Reads the file (or its default text), lets `change` edit the document given
 * the validated value before, validates the result and writes it.
 */
export async function editConfigFile<S extends z.ZodType>(kind: ConfigFileKind<S>, file: string, change: (doc: Document, before: z.output<S>) => void): Promise<z.output<S>> {
  const read = await readConfigDocument(file, kind.section, { private: kind.private === true });
  const doc = read.exists ? read.doc : parseDocument(kind.defaultText);
  const before = validateConfigDocument(kind, doc, read.lines, file);
  if (!isCollection(doc.get(kind.section, true))) doc.set(kind.section, doc.createNode({}));
  change(doc, before);
  const after = validateConfigDocument(kind, doc, new LineCounter(), file);
  await writeFileAtomic(file, doc.toString());
  return after;
}
