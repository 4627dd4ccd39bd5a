/**
 * Maps a validation issue's path (['steps', 3, 'click']) back to a line and
 * column in the YAML text it came from, using the node ranges `yaml` keeps.
 *
 * Where it points:
 *  - a value that is there: the start of that value;
 *  - an empty value (`click:` with nothing after it): the key, which is what a reader sees;
 *  - an unknown key: the key itself;
 *  - a missing key or index: the parent mapping or sequence (the deepest node that exists).
 * Aliases are followed to their anchor, so an issue inside an aliased node points
 * at the anchored definition.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import type { IssuePath } from '@atp/protocol';

export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units like most editors. */
  column: number;
}

/** A node whose position we can report: anything with a source range. */
interface Ranged {
  range?: [number, number, number] | null;
}

interface Located {
  /** Deepest node reached along the path. */
  node: Ranged | null;
  /** The key node of the last step, when the path ended on a mapping key that exists. */
  key: Ranged | null;
  /** True when the whole path exists in the document. */
  found: boolean;
}

function resolve(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  if (typeof key === 'string' || typeof key === 'number') return String(key);
  return undefined;
}

function walk(doc: Document, path: IssuePath): Located {
  let node: unknown = resolve(doc, doc.contents);
  let key: Ranged | null = null;
  for (const segment of path) {
    let next: unknown;
    let nextKey: Ranged | null = null;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(segment));
      if (pair !== undefined) {
        next = pair.value;
        nextKey = isScalar(pair.key) ? pair.key : null;
      }
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    // A present key with no value (`click:`) parses as a null scalar, or as nothing at all.
    if (next === undefined || (next === null && nextKey === null)) return { node: node as Ranged, key: null, found: false };
    node = resolve(doc, next) ?? null;
    key = nextKey;
  }
  return { node: node as Ranged | null, key, found: true };
}

function isEmptyScalar(node: Ranged | null): boolean {
  if (node === null) return true;
  if (!isScalar(node)) return false;
  const r = node.range;
  return r === null || r === undefined || r[0] === r[1];
}

/**
 * Where in the text an issue at `path` belongs. `pointAtKey` is for issues about
 * the key itself (an unknown field): the position of the key, not its value.
 */
export function locatePath(doc: Document, lineCounter: LineCounter, path: IssuePath, pointAtKey = false): SourcePosition {
  const { node, key, found } = walk(doc, path);
  let target: Ranged | null = node;
  if (found && key !== null && (pointAtKey || isEmptyScalar(node))) target = key;
  const offset = target?.range?.[0] ?? 0;
  return toPosition(lineCounter, offset);
}

/** A character offset as a 1-based line and column. */
export function toPosition(lineCounter: LineCounter, offset: number): SourcePosition {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
