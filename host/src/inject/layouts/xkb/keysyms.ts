/**
 * Keysym names -> characters, from X11's keysymdef.h (Debian x11proto-dev) and
 * libX11's Compose table (Debian libx11-data). Hand-written readers: both are
 * line-oriented C/X text with no npm parser. Pure: the caller passes the text.
 *
 * A keysym's character, in this order:
 *  - a name `Uxxxx` (as xkb-data writes them) is that code point;
 *  - a number 0x01000000 + cp is cp; Latin-1 keysyms 0x20..0x7e and 0xa0..0xff are
 *    their own code point (digits such as `1` are names in keysymdef.h too);
 *  - a keysymdef.h name whose comment says `/* U+XXXX` exactly (a `/*(U+XXXX)` comment
 *    marks an approximate or deprecated mapping and is not used);
 *  - `Return` is "\n" and `Tab` is "\t" (editorial: the text's newline and tab; no U+ comment);
 *  - anything else (dead keys, modifiers, function keys) types no character.
 */
import { AtpError } from '@atp/protocol';

export interface KeysymTable {
  /** name (without XK_) -> keysym value */
  values: Map<string, number>;
  /** keysym value -> code point, from exact U+ comments */
  unicode: Map<number, number>;
}

export function parseKeysymdef(text: string): KeysymTable {
  const values = new Map<string, number>();
  const unicode = new Map<number, number>();
  const re = /^#define XK_([A-Za-z0-9_]+)\s+0x([0-9a-fA-F]+)\s*(?:\/\*\s*U\+([0-9A-Fa-f]{4,6})\s)?/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m === null || m[1] === undefined || m[2] === undefined) continue;
    const value = Number.parseInt(m[2], 16);
    if (!values.has(m[1])) values.set(m[1], value);
    if (m[3] !== undefined && !unicode.has(value)) unicode.set(value, Number.parseInt(m[3], 16));
  }
  if (values.size < 1000) throw new AtpError('ATP_INJECT_LAYOUT_DATA', `keysymdef.h: only ${values.size} keysyms found; is this X11/keysymdef.h?`);
  return { values, unicode };
}

const EDITORIAL: Readonly<Record<string, string>> = { Return: '\n', Tab: '\t' };

/** The keysym value of a name as xkb-data writes it ('a', 'Uxxxx', '0x1001e9e', 'dead_acute'), or undefined. */
export function keysymValue(name: string, table: KeysymTable): number | undefined {
  const u = /^U([0-9A-Fa-f]{4,6})$/.exec(name);
  if (u?.[1] !== undefined) return 0x01000000 + Number.parseInt(u[1], 16);
  if (/^0x[0-9A-Fa-f]+$/.test(name)) return Number.parseInt(name.slice(2), 16);
  return table.values.get(name);
}

/** The character a keysym types, or undefined (see the header for the rules). */
export function keysymChar(name: string, table: KeysymTable): string | undefined {
  const editorial = EDITORIAL[name];
  if (editorial !== undefined) return editorial;
  const value = keysymValue(name, table);
  if (value === undefined) return undefined;
  let cp: number | undefined;
  if (value >= 0x01000000 && value <= 0x0110ffff) cp = value - 0x01000000;
  else if ((value >= 0x20 && value <= 0x7e) || (value >= 0xa0 && value <= 0xff)) cp = value;
  else cp = table.unicode.get(value);
  return cp === undefined ? undefined : String.fromCodePoint(cp);
}

export const isDeadKeysym = (name: string): boolean => name.startsWith('dead_');

/** dead keysym name -> following keysym name -> the string produced, from two-keysym Compose lines `<dead_x> <y> : "str"`. */
export function parseDeadKeyCompose(text: string): Map<string, Map<string, string>> {
  const result = new Map<string, Map<string, string>>();
  const re = /^<(dead_[A-Za-z0-9_]+)>\s+<([A-Za-z0-9_]+)>\s*:\s*"((?:[^"\\]|\\.)*)"/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m === null || m[1] === undefined || m[2] === undefined || m[3] === undefined) continue;
    let follow = result.get(m[1]);
    if (follow === undefined) result.set(m[1], (follow = new Map()));
    if (!follow.has(m[2])) follow.set(m[2], unescapeCompose(m[3]));
  }
  if (result.size === 0) throw new AtpError('ATP_INJECT_LAYOUT_DATA', 'Compose: no <dead_*> <keysym> sequences found; is this libX11 Compose data?');
  return result;
}

/** Compose strings escape \\ \" and allow \ooo octal and \xhh hex bytes (never used in the UTF-8 file for non-ASCII). */
function unescapeCompose(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e.startsWith('x')) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    if (e === 'n') return '\n';
    return e;
  });
}
