/**
 * Key names for humans writing scenarios: parseKeyName('ctrl'), parseCombo('ctrl+alt+delete').
 * Hand-written: the friendly aliases below are a small editorial choice, not data;
 * every other accepted name comes from the generated table.
 *
 * A name is matched case-insensitively, trying in this order (the first match wins):
 *  1. the canonical id ('KEY_LEFTSHIFT', 'btn_left');
 *  2. a friendly alias (FRIENDLY_KEY_ALIASES);
 *  3. the canonical id without 'KEY_' ('leftshift', 'kpenter', 'f13');
 *  4. a QEMU qcode ('ctrl', 'shift_r', 'kp_enter', 'ret');
 *  5. a DOM code ('ShiftLeft', 'KeyA', 'Enter', 'PrintScreen');
 *  6. another Linux name for the same code ('KEY_SHIFT', 'btn_mouse'), with or without 'KEY_'.
 * So 'print' is KEY_PRINT (step 3), not the Print Screen key whose qcode is 'print';
 * write 'printscreen' or 'prtsc' for that one.
 */
import { AtpError } from '../errors.js';
import { allKeys } from './table.js';
import type { KeyId } from './types.js';

/**
 * Names an experienced QA engineer types in a combo. A left/right pair resolves to the
 * left key. 'plus' is the keypad plus, the only key that types '+' unshifted on a US
 * layout; the main-block key is 'equal'. f1..f24, letters, digits, 'up', 'home',
 * 'delete', 'insert', 'pageup' ... need no alias: they are canonical ids without 'KEY_'.
 */
export const FRIENDLY_KEY_ALIASES: Readonly<Record<string, KeyId>> = {
  ctrl: 'KEY_LEFTCTRL', control: 'KEY_LEFTCTRL', lctrl: 'KEY_LEFTCTRL', rctrl: 'KEY_RIGHTCTRL',
  shift: 'KEY_LEFTSHIFT', lshift: 'KEY_LEFTSHIFT', rshift: 'KEY_RIGHTSHIFT',
  alt: 'KEY_LEFTALT', lalt: 'KEY_LEFTALT', ralt: 'KEY_RIGHTALT', altgr: 'KEY_RIGHTALT',
  meta: 'KEY_LEFTMETA', super: 'KEY_LEFTMETA', win: 'KEY_LEFTMETA', windows: 'KEY_LEFTMETA', cmd: 'KEY_LEFTMETA',
  command: 'KEY_LEFTMETA', lwin: 'KEY_LEFTMETA', rwin: 'KEY_RIGHTMETA',
  enter: 'KEY_ENTER', return: 'KEY_ENTER', esc: 'KEY_ESC', escape: 'KEY_ESC',
  del: 'KEY_DELETE', ins: 'KEY_INSERT', bksp: 'KEY_BACKSPACE', bs: 'KEY_BACKSPACE',
  space: 'KEY_SPACE', spacebar: 'KEY_SPACE', tab: 'KEY_TAB', backspace: 'KEY_BACKSPACE',
  pgup: 'KEY_PAGEUP', pgdn: 'KEY_PAGEDOWN', pgdown: 'KEY_PAGEDOWN',
  caps: 'KEY_CAPSLOCK', numlock: 'KEY_NUMLOCK', scrolllock: 'KEY_SCROLLLOCK',
  printscreen: 'KEY_SYSRQ', prtsc: 'KEY_SYSRQ', prtscn: 'KEY_SYSRQ', apps: 'KEY_COMPOSE',
  plus: 'KEY_KPPLUS',
};

/** lower-cased name -> key, built in the precedence order above (first insertion wins). */
const NAMES = new Map<string, KeyId>();
function add(name: string, id: KeyId): void {
  const lower = name.toLowerCase();
  if (!NAMES.has(lower)) NAMES.set(lower, id);
}
const keys = allKeys();
for (const k of keys) add(k.id, k.id);
for (const [name, id] of Object.entries(FRIENDLY_KEY_ALIASES)) add(name, id);
for (const k of keys) if (k.id.startsWith('KEY_')) add(k.id.slice(4), k.id);
for (const k of keys) for (const q of k.codes.qcode) add(q, k.id);
for (const k of keys) for (const d of k.codes.domCode) add(d, k.id);
for (const k of keys) for (const a of k.aliases) { add(a, k.id); if (a.startsWith('KEY_')) add(a.slice(4), k.id); }

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** Up to three accepted names closest to `name` (edit distance at most 2, or a prefix match). */
export function suggestKeyNames(name: string): string[] {
  const lower = name.trim().toLowerCase();
  if (lower === '') return [];
  const scored: [string, number][] = [];
  for (const candidate of NAMES.keys()) {
    const d = editDistance(lower, candidate);
    if (d <= 2 || (lower.length >= 3 && candidate.startsWith(lower))) scored.push([candidate, d]);
  }
  scored.sort((x, y) => x[1] - y[1] || x[0].length - y[0].length || x[0].localeCompare(y[0]));
  return scored.slice(0, 3).map(([n]) => n);
}

/** The key a human means by `name`; throws ATP_KEY_UNKNOWN with up to three suggestions. */
export function parseKeyName(name: string): KeyId {
  const id = NAMES.get(name.trim().toLowerCase());
  if (id !== undefined) return id;
  const suggestions = suggestKeyNames(name);
  const hint = suggestions.length > 0 ? ` (did you mean ${suggestions.map((s) => `'${s}'`).join(', ')}?)` : '';
  throw new AtpError('ATP_KEY_UNKNOWN', `Unknown key name '${name}'${hint}`, { details: { system: 'name', value: name, suggestions } });
}

/**
 * A combo such as 'ctrl+alt+delete' -> ['KEY_LEFTCTRL', 'KEY_LEFTALT', 'KEY_DELETE'], in
 * the order written. Keys are separated by '+' only (never '-', which is a key name in
 * 'minus' spelling and ambiguous); spaces around names are ignored. A literal plus key is
 * written 'plus' (keypad) or 'equal' (main block); an empty part or a repeated key is an error.
 */
export function parseCombo(combo: string): KeyId[] {
  const parts = combo.split('+').map((p) => p.trim());
  const ids: KeyId[] = [];
  for (const part of parts) {
    if (part === '') {
      throw new AtpError('ATP_KEY_UNKNOWN', `Empty key name in combo '${combo}': keys are joined with '+'; write a plus key as 'plus' or 'equal'`, { details: { system: 'combo', value: combo } });
    }
    const id = parseKeyName(part);
    if (ids.includes(id)) {
      throw new AtpError('ATP_SCHEMA_INVALID', `Key '${part}' (${id}) appears twice in combo '${combo}'`, { details: { field: 'combo', value: combo } });
    }
    ids.push(id);
  }
  return ids;
}
