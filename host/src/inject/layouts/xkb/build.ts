/**
 * Resolved XKB symbols + keysyms + Compose -> LayoutData. Pure; the rules that
 * choose between keys live here (and are repeated in the generated file's header):
 *
 * - XKB key names map to canonical key ids through the key table's xkbName codes
 *   (every name a key has, e.g. <AC12> and <BKSL>); names without a key (<LVL3>,
 *   <MDSW>, <ALT>, ...) are virtual and ignored. Keypad keys (KEY_KP*) are skipped:
 *   their level 2 depends on Num Lock, not Shift.
 * - Levels: keys of the types whose levels 1-4 mean none/Shift/AltGr/Shift+AltGr
 *   (ONE_LEVEL, TWO_LEVEL, ALPHABETIC, FOUR_LEVEL*, or no type, which XKB derives
 *   from the level count) contribute their first 1, 2 or 4 levels; other types
 *   (KEYPAD, CTRL+ALT, PC_*_LEVEL2, EIGHT_LEVEL*) are skipped. Without an AltGr key
 *   levels 3 and 4 are unreachable and dropped.
 * - A character several keys type goes to the lowest level, then to a key other
 *   than KEY_102ND (the ISO key left of Z), then to the lowest evdev code. Layouts
 *   may exclude keys (us: <LSGT>, absent from ANSI keyboards).
 * - Dead keys: the same choice per dead keysym; their Compose entries are kept
 *   where the following keysym is a character the layout types directly and the
 *   result is one code point.
 */
import { AtpError, getKey, keyFromCode, type KeyId } from '@atp/protocol';
import type { DeadKeyData, LayoutData, Level } from '../types.js';
import { isDeadKeysym, keysymChar, type KeysymTable } from './keysyms.js';
import type { ResolvedSymbols, XkbKey } from './symbols.js';

export interface LayoutConfig {
  id: string;
  symbols: string;
  /** XKB key names left out (physically absent on the keyboard this layout is used with). */
  excludeKeys?: readonly string[];
}

export interface BuildReport {
  layout: LayoutData;
  /** XKB key names with no key id (virtual keys). */
  unmappedKeyNames: string[];
}

const LEVELS_BY_TYPE: Readonly<Record<string, number>> = {
  ONE_LEVEL: 1, TWO_LEVEL: 2, ALPHABETIC: 2,
  FOUR_LEVEL: 4, FOUR_LEVEL_ALPHABETIC: 4, FOUR_LEVEL_SEMIALPHABETIC: 4, FOUR_LEVEL_PLUS_LOCK: 4,
};

function reachableLevels(key: XkbKey): number {
  if (key.type !== undefined) return LEVELS_BY_TYPE[key.type] ?? 0;
  const width = key.syms.length;
  return width <= 1 ? 1 : width === 2 ? 2 : 4;
}

interface Candidate { key: KeyId; level: Level; evdev: number }

/** Lower sorts first: level, then not KEY_102ND, then evdev code. */
function compareCandidates(a: Candidate, b: Candidate): number {
  return a.level - b.level || Number(a.key === 'KEY_102ND') - Number(b.key === 'KEY_102ND') || a.evdev - b.evdev;
}

function keyForXkbName(name: string): KeyId | undefined {
  return keyFromCode('xkbName', name);
}

/** The best key whose level 1 is `keysym` (a modifier such as Shift_L or ISO_Level3_Shift). */
function modifierKey(resolved: ResolvedSymbols, keysym: string): KeyId | undefined {
  const found: Candidate[] = [];
  for (const [name, key] of resolved.keys) {
    const id = keyForXkbName(name);
    if (id !== undefined && key.syms[0] === keysym) found.push({ key: id, level: 1, evdev: getKey(id)?.evdev ?? 0 });
  }
  return found.sort(compareCandidates)[0]?.key;
}

export function buildLayout(config: LayoutConfig, resolved: ResolvedSymbols, keysyms: KeysymTable, compose: Map<string, Map<string, string>>): BuildReport {
  const shiftKey = modifierKey(resolved, 'Shift_L');
  if (shiftKey === undefined) throw new AtpError('ATP_INJECT_LAYOUT_DATA', `layout ${config.id}: no key types Shift_L in ${config.symbols}`);
  const altGrKey = modifierKey(resolved, 'ISO_Level3_Shift');
  const maxLevel = altGrKey === undefined ? 2 : 4;
  const chars = new Map<string, Candidate>();
  const dead = new Map<string, Candidate>();
  const unmappedKeyNames: string[] = [];
  const offer = (into: Map<string, Candidate>, what: string, c: Candidate): void => {
    const old = into.get(what);
    if (old === undefined || compareCandidates(c, old) < 0) into.set(what, c);
  };
  for (const [name, key] of resolved.keys) {
    if (config.excludeKeys?.includes(name)) continue;
    const id = keyForXkbName(name);
    if (id === undefined) { unmappedKeyNames.push(name); continue; }
    if (id.startsWith('KEY_KP')) continue;
    const evdev = getKey(id)?.evdev ?? 0;
    const levels = Math.min(reachableLevels(key), maxLevel);
    for (let i = 0; i < levels; i++) {
      const sym = key.syms[i];
      if (sym === undefined) continue;
      const candidate: Candidate = { key: id, level: (i + 1) as Level, evdev };
      if (isDeadKeysym(sym)) { offer(dead, sym, candidate); continue; }
      const ch = keysymChar(sym, keysyms);
      if (ch !== undefined) offer(chars, ch, candidate);
    }
  }
  const byCodePoint = (a: string, b: string): number => (a.codePointAt(0) ?? 0) - (b.codePointAt(0) ?? 0);
  const deadKeys: DeadKeyData[] = [...dead]
    .sort(([an, a], [bn, b]) => compareCandidates(a, b) || an.localeCompare(bn))
    .map(([keysym, c]) => {
      const pairs: [string, string][] = [];
      for (const [follower, result] of compose.get(keysym) ?? []) {
        const ch = keysymChar(follower, keysyms);
        if (ch !== undefined && chars.has(ch) && [...result].length === 1) pairs.push([ch, result]);
      }
      pairs.sort((a, b) => byCodePoint(a[0], b[0]));
      return { keysym, key: c.key, level: c.level, compose: pairs };
    });
  const layout: LayoutData = {
    id: config.id,
    description: resolved.name ?? config.id,
    symbols: config.symbols,
    shiftKey,
    ...(altGrKey === undefined ? {} : { altGrKey }),
    chars: [...chars].sort((a, b) => byCodePoint(a[0], b[0])).map(([ch, c]) => [ch, c.key, c.level] as const),
    deadKeys,
  };
  return { layout, unmappedKeyNames: unmappedKeyNames.sort() };
}
