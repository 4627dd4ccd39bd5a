/**
 * A reader for the subset of XKB symbols files that Debian's xkb-data layouts use
 * (/usr/share/X11/xkb/symbols/*). Hand-written: no maintained npm package parses
 * XKB, and the layout generator needs only group 1 of each key, key types and
 * include merging. Pure: files come in through a `load(name)` callback.
 *
 * Understood: sections (`default partial ... xkb_symbols "name" { ... };`),
 * `include`/`override`/`augment`/`replace "a(b)+c|d"`, `key <NAME> { [syms], ... }`,
 * `type[Group1]="T"`, `symbols[Group1]=[...]`, `key.type[Group1]="T";` defaults,
 * `name[Group1]="...";`, merge-mode prefixes on keys. Everything else (actions,
 * modifier_map, virtual_modifiers, groups 2+) is skipped to its end.
 *
 * Merging (as xkbcomp/libxkbcommon do per level): override keeps the old level
 * where the new one is NoSymbol; augment only fills levels that are empty;
 * replace swaps the whole key. An explicit type wins over none.
 */
import { AtpError } from '@atp/protocol';

export interface XkbKey {
  /** Group 1 keysyms by level (index 0 = level 1); undefined = NoSymbol. */
  syms: (string | undefined)[];
  type?: string;
}
export type XkbKeyMap = Map<string, XkbKey>;
export interface ResolvedSymbols {
  keys: XkbKeyMap;
  /** The last name[Group1] seen (the layout's human name). */
  name?: string;
}
type Merge = 'override' | 'augment' | 'replace';

interface Token { t: 'str' | 'kname' | 'id' | 'p'; v: string }

function fail(message: string): never {
  throw new AtpError('ATP_INJECT_LAYOUT_DATA', message);
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s+|\/\/[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/|"([^"]*)"|<([^>]*)>|([A-Za-z0-9_]+)|([{}[\](),;=.+\-|!])/y;
  while (re.lastIndex < text.length) {
    const at = re.lastIndex;
    const m = re.exec(text);
    if (m === null) fail(`xkb: unexpected character ${JSON.stringify(text[at])} at offset ${at}`);
    if (m[1] !== undefined) tokens.push({ t: 'str', v: m[1] });
    else if (m[2] !== undefined) tokens.push({ t: 'kname', v: m[2] });
    else if (m[3] !== undefined) tokens.push({ t: 'id', v: m[3] });
    else if (m[4] !== undefined) tokens.push({ t: 'p', v: m[4] });
  }
  return tokens;
}

interface Section { name: string; isDefault: boolean; body: Token[] }

/** The sections of one symbols file, each with the tokens between its braces. */
export function parseSections(text: string): Section[] {
  const tokens = tokenize(text);
  const sections: Section[] = [];
  let i = 0;
  while (i < tokens.length) {
    let isDefault = false;
    while (tokens[i]?.t === 'id' && tokens[i]?.v !== 'xkb_symbols') { if (tokens[i]?.v === 'default') isDefault = true; i++; }
    if (i >= tokens.length) break;
    const name = tokens[i + 1];
    if (tokens[i]?.v !== 'xkb_symbols' || name?.t !== 'str' || tokens[i + 2]?.v !== '{') fail(`xkb: expected xkb_symbols "name" { at token ${i}`);
    const end = matching(tokens, i + 2);
    sections.push({ name: name.v, isDefault, body: tokens.slice(i + 3, end) });
    i = end + 1;
    if (tokens[i]?.v === ';') i++;
  }
  return sections;
}

/** Index of the bracket that closes the one at `open`. */
function matching(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const tok = tokens[i];
    if (tok?.t !== 'p') continue;
    if ('{[('.includes(tok.v)) depth++;
    else if ('}])'.includes(tok.v) && --depth === 0) return i;
  }
  return fail('xkb: unbalanced brackets');
}

/** Splits tokens[from, to) at top-level commas. */
function splitItems(tokens: Token[], from: number, to: number): Token[][] {
  const items: Token[][] = [];
  let cur: Token[] = [];
  for (let i = from; i < to; i++) {
    const tok = tokens[i] as Token;
    if (tok.t === 'p' && '{[('.includes(tok.v)) {
      const end = matching(tokens, i);
      cur.push(...tokens.slice(i, end + 1));
      i = end;
    } else if (tok.t === 'p' && tok.v === ',') { items.push(cur); cur = []; } else cur.push(tok);
  }
  if (cur.length > 0) items.push(cur);
  return items;
}

function symList(tokens: Token[], open: number): (string | undefined)[] {
  const end = matching(tokens, open);
  return splitItems(tokens, open + 1, end).map((item) => {
    const [only] = item;
    if (item.length !== 1 || only?.t !== 'id' || only.v === 'NoSymbol') return undefined; // {a, b} multi-keysym levels: not typed
    return only.v;
  });
}

const isGroup1 = (index: Token | undefined): boolean => index === undefined || /^group1$/i.test(index.v);

/** One key's body: type and group-1 symbols. */
function parseKeyBody(body: Token[]): XkbKey {
  const key: XkbKey = { syms: [] };
  let bracketGroups = 0;
  for (const item of splitItems(body, 0, body.length)) {
    const [first, second] = item;
    if (first?.v === '[' && first.t === 'p') {
      if (bracketGroups++ === 0) key.syms = symList(item, 0);
      continue;
    }
    if (first?.t !== 'id') continue;
    const group = second?.v === '[' ? item[2] : undefined;
    const eq = item.findIndex((tok) => tok.t === 'p' && tok.v === '=');
    if (eq < 0 || !isGroup1(group)) continue;
    const value = item[eq + 1];
    if (first.v === 'type' && value?.t === 'str') key.type = value.v;
    else if (first.v === 'symbols' && value?.v === '[') key.syms = symList(item, eq + 1);
  }
  return key;
}

export function mergeKey(old: XkbKey | undefined, added: XkbKey, mode: Merge): XkbKey {
  if (old === undefined || mode === 'replace') return { syms: [...added.syms], ...(added.type === undefined ? {} : { type: added.type }) };
  const [first, second] = mode === 'override' ? [added, old] : [old, added];
  const syms = Array.from({ length: Math.max(old.syms.length, added.syms.length) }, (_, i) => first.syms[i] ?? second.syms[i]);
  const type = first.type ?? second.type;
  return type === undefined ? { syms } : { syms, type };
}

function mergeMaps(into: ResolvedSymbols, from: ResolvedSymbols, mode: Merge): void {
  for (const [name, key] of from.keys) into.keys.set(name, mergeKey(into.keys.get(name), key, mode === 'replace' ? 'override' : mode));
  if (from.name !== undefined && (mode !== 'augment' || into.name === undefined)) into.name = from.name;
}

/** Loads a symbols file by name ('us', 'pc', 'level3'); throws when it does not exist. */
export type SymbolsLoader = (file: string) => string;

/** Resolves an include spec such as 'pc(pc105)+de(basic)' or 'latin|level3(ralt_switch)' into one key map. */
export function resolveSymbols(spec: string, load: SymbolsLoader, depth = 0): ResolvedSymbols {
  if (depth > 20) fail(`xkb: include depth over 20 at "${spec}" (a cycle?)`);
  const result: ResolvedSymbols = { keys: new Map() };
  const parts = spec.match(/[+|]?[^+|]+/g) ?? [];
  for (const part of parts) {
    const mode: Merge = part.startsWith('|') ? 'augment' : 'override';
    const m = /^[+|]?([A-Za-z0-9_-]+)(?:\(([^)]+)\))?$/.exec(part.trim());
    if (m === null || m[1] === undefined) fail(`xkb: cannot read include "${part}" in "${spec}"`);
    mergeMaps(result, resolveSection(m[1], m[2], load, depth), mode);
  }
  return result;
}

function resolveSection(file: string, sectionName: string | undefined, load: SymbolsLoader, depth: number): ResolvedSymbols {
  const sections = parseSections(load(file));
  const section = sectionName === undefined ? (sections.find((s) => s.isDefault) ?? sections[0]) : sections.find((s) => s.name === sectionName);
  if (section === undefined) fail(`xkb: no section ${sectionName ?? '(default)'} in symbols file ${file}`);
  const result: ResolvedSymbols = { keys: new Map() };
  const t = section.body;
  let defaultType: string | undefined;
  for (let i = 0; i < t.length; ) {
    const tok = t[i] as Token;
    let mode: Merge = 'override';
    let j = i;
    if (tok.t === 'id' && ['include', 'override', 'augment', 'replace'].includes(tok.v)) {
      if (t[i + 1]?.t === 'str') {
        const includeMode: Merge = tok.v === 'augment' ? 'augment' : 'override';
        mergeMaps(result, resolveSymbols((t[i + 1] as Token).v, load, depth + 1), includeMode);
        i += t[i + 2]?.v === ';' ? 3 : 2;
        continue;
      }
      mode = tok.v === 'augment' ? 'augment' : tok.v === 'replace' ? 'replace' : 'override';
      j = i + 1;
    }
    const head = t[j];
    if (head?.v === 'key' && t[j + 1]?.t === 'kname' && t[j + 2]?.v === '{') {
      const end = matching(t, j + 2);
      const key = parseKeyBody(t.slice(j + 3, end));
      if (key.type === undefined && defaultType !== undefined) key.type = defaultType;
      const name = (t[j + 1] as Token).v;
      result.keys.set(name, mergeKey(result.keys.get(name), key, mode));
      i = t[end + 1]?.v === ';' ? end + 2 : end + 1;
      continue;
    }
    const stop = statementEnd(t, j);
    const stmt = t.slice(j, stop);
    const eq = stmt.findIndex((x) => x.v === '=');
    const value = stmt[eq + 1];
    if (head?.v === 'key' && stmt[1]?.v === '.' && stmt[2]?.v === 'type' && value?.t === 'str') defaultType = value.v;
    if (head?.v === 'name' && value?.t === 'str' && isGroup1(stmt[1]?.v === '[' ? stmt[2] : undefined)) result.name = value.v;
    i = stop + 1;
  }
  return result;
}

/** Index of the ';' that ends the statement starting at `from` (skipping bracketed parts). */
function statementEnd(t: Token[], from: number): number {
  for (let i = from; i < t.length; i++) {
    const tok = t[i] as Token;
    if (tok.t === 'p' && '{[('.includes(tok.v)) i = matching(t, i);
    else if (tok.t === 'p' && tok.v === ';') return i;
  }
  return t.length;
}
