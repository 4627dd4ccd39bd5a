/**
 * Generates protocol-schemas/src/keys/keytable.gen.ts from data/keymaps.csv (QEMU's
 * keycodemapdb, BSD-3-Clause). `tsx gen-keytable.ts` writes the file; `--check`
 * regenerates in memory and exits 1 when the checked-in file differs.
 *
 * CSV parsing is a small hand-written RFC 4180 reader (quoted fields, "" escapes,
 * LF or CRLF) rather than a csv-parse dependency: keymaps.csv only quotes its header
 * and has no embedded commas or newlines, so a dozen lines cover it. Columns are
 * found by header name, so a reordered CSV still generates correctly.
 *
 * The rules that turn rows into keys (documented again in the generated header):
 * - One key per Linux evdev code; rows with the same code are merged. Its id is the
 *   LAST Linux name listed for that code: the CSV lists range markers and
 *   keycodemapdb's own aliases first (BTN_MOUSE, KEY_SHIFT) and the specific name
 *   last (BTN_LEFT, KEY_LEFTSHIFT); the other names become aliases. A code without
 *   any name gets KEY_UNNAMED_<code>.
 * - Per column a key may get several values; primary first: values from rows named
 *   with the canonical id, then from alias rows, each in CSV order. Keysyms: an
 *   upper-case Latin letter goes after its lower-case partner (unshifted first);
 *   the CSV lists some letters upper-case first.
 * - A value given to several keys is ambiguous; its primary key is the first in CSV
 *   (= evdev) order that has a Linux name, so the main-block key wins over keypad and
 *   international ones (VK_OEM_5: KEY_BACKSLASH before KEY_YEN) and a named key wins
 *   over an unnamed one (set1 0x54: KEY_SYSRQ). keycodemapdb's keymap-gen lets the
 *   last row win instead.
 * - qnum (QEMU's 'number' KeyValue) is derived from set 1 as keymap-gen does:
 *   0xe0xx -> 0x80|xx; the Hanja/Hangeul codes 0xf1/0xf2 -> 0x71/0x72; and 0xb7 is
 *   accepted as input for whichever key has qnum 0x54 (QEMU's Print/SysRq compat).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AtpError } from '../src/errors.js';
import { CODE_SYSTEMS, type CodeSystem } from '../src/keys/types.js';

export const CSV_PATH = fileURLToPath(new URL('../data/keymaps.csv', import.meta.url));
export const OUTPUT_PATH = fileURLToPath(new URL('../src/keys/keytable.gen.ts', import.meta.url));

/** CSV header of each column we read; systems not listed here (qnum) are derived. */
const HEADERS = {
  name: 'Linux Name', evdev: 'Linux Keycode', macos: 'OS-X Keycode', set1: 'AT set1 keycode',
  set2: 'AT set2 keycode', usb: 'USB Keycodes', win32Name: 'Win32 Name', win32Vk: 'Win32 Keycode',
  keysymName: 'X11 keysym name', keysym: 'X11 keysym', domCode: 'HTML code', xkbName: 'XKB key name',
  qcode: 'QEMU QKeyCode',
} as const;
type Column = keyof typeof HEADERS;
const NUMERIC = new Set<string>(['evdev', 'macos', 'set1', 'set2', 'usb', 'win32Vk', 'keysym', 'qnum']);
/** Columns read from the CSV, each paired (where it has one) with its name column. */
const READ: readonly (readonly [CodeSystem, Column?])[] = [
  ['qcode'], ['domCode'], ['set1'], ['set2'], ['usb'], ['win32Vk', 'win32Name'], ['keysym', 'keysymName'], ['xkbName'], ['macos'],
];
const QNUM_COMPAT_INPUT = [[0xb7, 0x54]] as const;

/** Minimal RFC 4180 parser: returns rows of fields; a trailing newline adds no row. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (quoted) throw new AtpError('ATP_SCHEMA_INVALID', 'keymaps.csv: unterminated quoted field');
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

interface Key {
  id: string;
  evdev: number;
  aliases: string[];
  /** Per system: [value, name, fromCanonicalRow][] in CSV order. */
  raw: Map<string, [number | string, string, boolean][]>;
  values: Map<string, (number | string)[]>;
  names: Map<string, string[]>;
}

function parseNumber(text: string, where: string): number {
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(text)) throw new AtpError('ATP_SCHEMA_INVALID', `keymaps.csv ${where}: not a number: '${text}'`);
  return Number(text);
}

export function qnumFromSet1(set1: number): number {
  if (set1 === 0xf1 || set1 === 0xf2) return set1 & 0x7f;
  if (set1 <= 0x7f) return set1;
  if ((set1 & ~0x7f) === 0xe000) return 0x80 | (set1 & 0x7f);
  throw new AtpError('ATP_SCHEMA_INVALID', `set-1 code 0x${set1.toString(16)} has no qnum form`);
}

/** Orders a key's values: canonical-row values first, CSV order, duplicates dropped; keysyms lower-case letter first. */
function orderValues(system: string, raw: readonly [number | string, string, boolean][]): [(number | string)[], string[]] {
  const sorted = [...raw.filter((r) => r[2]), ...raw.filter((r) => !r[2])];
  const values: (number | string)[] = [];
  const names: string[] = [];
  for (const [v, n] of sorted) if (!values.includes(v)) { values.push(v); names.push(n); }
  if (system === 'keysym') {
    const rank = (v: number | string, i: number): number =>
      typeof v === 'number' && v >= 0x41 && v <= 0x5a && values.includes(v + 0x20) ? values.indexOf(v + 0x20) + 0.5 : i;
    const order = values.map((v, i) => [rank(v, i), i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
    return [order.map((i) => values[i] as number), order.map((i) => names[i] as string)];
  }
  return [values, names];
}

export function buildKeys(csvText: string): { keys: Key[]; dataRows: number } {
  const [header, ...rows] = parseCsv(csvText);
  if (header === undefined) throw new AtpError('ATP_SCHEMA_INVALID', 'keymaps.csv is empty');
  const col = {} as Record<Column, number>;
  for (const [k, h] of Object.entries(HEADERS) as [Column, string][]) {
    col[k] = header.indexOf(h);
    if (col[k] < 0) throw new AtpError('ATP_SCHEMA_INVALID', `keymaps.csv: no column '${h}'`);
  }
  const byCode = new Map<number, { names: string[]; rows: string[][] }>();
  rows.forEach((r, i) => {
    if (r.length !== header.length) throw new AtpError('ATP_SCHEMA_INVALID', `keymaps.csv line ${i + 2}: ${r.length} fields, expected ${header.length}`);
    const code = parseNumber(r[col.evdev] ?? '', `line ${i + 2}`);
    const name = r[col.name] ?? '';
    if (name !== '' && !/^(KEY|BTN)_[A-Z0-9_]+$/.test(name)) throw new AtpError('ATP_SCHEMA_INVALID', `keymaps.csv line ${i + 2}: odd Linux name '${name}'`);
    const entry = byCode.get(code) ?? { names: [], rows: [] };
    if (name !== '' && !entry.names.includes(name)) entry.names.push(name);
    entry.rows.push(r);
    byCode.set(code, entry);
  });
  const keys: Key[] = [];
  for (const [evdev, { names, rows: kr }] of byCode) {
    const id = names.at(-1) ?? `KEY_UNNAMED_${evdev}`;
    const key: Key = { id, evdev, aliases: names.slice(0, -1), raw: new Map(), values: new Map(), names: new Map() };
    for (const [system, nameCol] of READ) {
      const list: [number | string, string, boolean][] = [];
      for (const r of kr) {
        const text = r[col[system as Column]] ?? '';
        if (text === '' || (system === 'qcode' && text === 'unmapped')) continue;
        const value = NUMERIC.has(system) ? parseNumber(text, `${id} ${system}`) : text;
        list.push([value, nameCol === undefined ? '' : (r[col[nameCol]] ?? ''), (r[col.name] ?? '') === (names.at(-1) ?? '')]);
      }
      key.raw.set(system, list);
    }
    key.raw.set('evdev', [[evdev, '', true]]);
    key.raw.set('qnum', (key.raw.get('set1') ?? []).map(([v, , c]) => [qnumFromSet1(v as number), '', c]));
    for (const [system, raw] of key.raw) {
      const [values, valueNames] = orderValues(system, raw);
      key.values.set(system, values);
      key.names.set(system, valueNames);
    }
    keys.push(key);
  }
  return { keys, dataRows: rows.length };
}

/** Values shared by several keys, primary key first (see the header's rules). */
export function findAmbiguities(keys: readonly Key[]): { system: CodeSystem; value: number | string; keys: string[] }[] {
  const out: { system: CodeSystem; value: number | string; keys: string[] }[] = [];
  for (const system of CODE_SYSTEMS) {
    const owners = new Map<number | string, Key[]>();
    for (const k of keys) for (const v of k.values.get(system) ?? []) owners.set(v, [...(owners.get(v) ?? []), k]);
    for (const [value, ks] of owners) {
      if (ks.length < 2) continue;
      const primary = ks.find((k) => !k.id.startsWith('KEY_UNNAMED_')) ?? ks[0];
      if (primary === undefined) continue;
      out.push({ system, value, keys: [primary, ...ks.filter((k) => k !== primary)].map((k) => k.id) });
    }
  }
  return out;
}

const hex = (v: number, width = 0): string => `0x${v.toString(16).padStart(width, '0')}`;
function literal(system: string, v: number | string): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (system === 'evdev' || system === 'usb') return String(v);
  return hex(v, system === 'keysym' ? 4 : 2);
}
function field(name: string, system: string, values: readonly (number | string)[]): string {
  if (values.length === 0) return '';
  const lits = values.map((v) => literal(system, v));
  return `, ${name}: ${lits.length === 1 ? lits[0] : `[${lits.join(', ')}]`}`;
}

function wrap(items: readonly string[], width: number): string[] {
  const out: string[] = [];
  for (const item of items) {
    const last = out.at(-1);
    if (last !== undefined && last.length + item.length + 2 <= width) out[out.length - 1] = `${last}, ${item}`;
    else out.push(item);
  }
  return out;
}

/** The whole generated module, deterministic for a given CSV text. */
export function generateKeytable(csvText: string): string {
  const { keys, dataRows } = buildKeys(csvText);
  const ambiguities = findAmbiguities(keys);
  const sha256 = createHash('sha256').update(csvText).digest('hex');
  const multi = keys.flatMap((k) => CODE_SYSTEMS.filter((s) => (k.values.get(s) ?? []).length > 1).map((s) => `${k.id}.${s}`));
  const lines = keys.map((k) => {
    let line = `  { id: ${JSON.stringify(k.id)}, evdev: ${k.evdev}`;
    if (k.aliases.length > 0) line += `, aliases: [${k.aliases.map((a) => JSON.stringify(a)).join(', ')}]`;
    for (const s of CODE_SYSTEMS) {
      if (s === 'evdev') continue;
      line += field(s, s, k.values.get(s) ?? []);
      if (s === 'win32Vk') line += field('win32Name', 'win32Name', k.names.get(s) ?? []);
      if (s === 'keysym') line += field('keysymName', 'keysymName', k.names.get(s) ?? []);
    }
    return `${line} },`;
  });
  const compat = QNUM_COMPAT_INPUT.flatMap(([input, canonical]) => {
    const owner = keys.find((k) => k.values.get('qnum')?.[0] === canonical && !k.id.startsWith('KEY_UNNAMED_'));
    return owner === undefined ? [] : [`  [${hex(input)}, ${JSON.stringify(owner.id)}],`];
  });
  return [
    '// GENERATED FILE - DO NOT EDIT BY HAND. Regenerate with `npm run gen`; `npm run gen:check` fails when stale.',
    '// Generated by protocol-schemas/scripts/gen-keytable.ts from protocol-schemas/data/keymaps.csv',
    "// (QEMU keycodemapdb, BSD-3-Clause: see data/keymaps.LICENSE.BSD).",
    '//',
    '// Rules (details in the generator): one key per evdev code, id = the last Linux name for it',
    '// (others are aliases; unnamed codes are KEY_UNNAMED_<code>). A single value or an array',
    '// (primary first: canonical-name rows, then alias rows, in CSV order; keysyms unshifted first).',
    '// qnum is derived from set1 (0xe0xx -> 0x80|xx; 0xf1/0xf2 -> 0x71/0x72).',
    '// KEY_AMBIGUITIES: codes shared by several keys; keys[0] is the primary (first named key in CSV order).',
    '// Keys with several values in one column (key.system):',
    ...wrap(multi, 100).map((l) => `//   ${l}`),
    '',
    "import type { KeyAmbiguity, KeyRow } from './types.js';",
    '',
    `export const KEYTABLE_SOURCE = { file: 'data/keymaps.csv', sha256: '${sha256}', dataRows: ${dataRows}, license: 'BSD-3-Clause' } as const;`,
    '',
    'export const KEY_ROWS: readonly KeyRow[] = [',
    ...lines,
    '];',
    '',
    'export const KEY_AMBIGUITIES: readonly KeyAmbiguity[] = [',
    ...ambiguities.map((a) => `  { system: '${a.system}', value: ${literal(a.system, a.value)}, keys: [${a.keys.map((k) => JSON.stringify(k)).join(', ')}] },`),
    '];',
    '',
    '/** Extra qnum inputs QEMU accepts for compatibility (keymap-gen: 0xb7 means Print/SysRq); never produced by keyToQnum. */',
    'export const QNUM_INPUT_ALIASES: readonly (readonly [number, KeyRow[\'id\']])[] = [',
    ...compat,
    '];',
    '',
  ].join('\n');
}

/** The CLI: writes the module, or with --check returns 1 when the file on disk is stale. Paths are overridable for tests. */
export function main(argv: readonly string[], paths = { csv: CSV_PATH, output: OUTPUT_PATH }): number {
  const generated = generateKeytable(readFileSync(paths.csv, 'utf8'));
  if (argv.includes('--check')) {
    let current: string | undefined;
    try { current = readFileSync(paths.output, 'utf8'); } catch { current = undefined; }
    if (current !== generated) {
      process.stderr.write(`${paths.output} is stale or hand-edited: it differs from what data/keymaps.csv generates. Run \`npm run gen\`.\n`);
      return 1;
    }
    process.stdout.write('keytable.gen.ts is up to date.\n');
    return 0;
  }
  writeFileSync(paths.output, generated);
  process.stdout.write(`wrote ${paths.output}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
