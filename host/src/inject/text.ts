/**
 * Text and combos -> InputActions. Pure.
 *
 * One character at a time, and predictable: a character's modifiers go down before
 * its key and come up right after it (level 2: Shift; 3: AltGr; 4: Shift then
 * AltGr, released in reverse), so no modifier is ever held across characters and a
 * lost or reordered key cannot leave the next character shifted. A dead-key
 * character is two such strokes. "\n" (and "\r\n", or a lone "\r") is Enter,
 * "\t" is Tab, both through the layout's Return/Tab keys. The text is taken as
 * given: no Unicode normalisation (a decomposed "e" + U+0301 needs U+0301 itself).
 */
import { AtpError, parseCombo, type KeyId } from '@atp/protocol';
import type { InputAction } from './actions.js';
import { getLayout, type Layout } from './layouts/layout.js';
import type { KeyStroke } from './layouts/types.js';

export interface TextOptions {
  /** Key pressed for level 2 (default: the layout's, KEY_LEFTSHIFT). */
  shiftKey?: KeyId;
  /** Key pressed for levels 3 and 4 (default: the layout's, KEY_RIGHTALT). */
  altGrKey?: KeyId;
}

/** The actions of one character or combo; the unit of pacing. */
export interface Keystroke {
  /** The character or combo this group types. */
  label: string;
  actions: InputAction[];
}

const codePoint = (ch: string): string => `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

function strokeActions(stroke: KeyStroke, layout: Layout, options: TextOptions): InputAction[] {
  const modifiers: KeyId[] = [];
  if (stroke.level === 2 || stroke.level === 4) modifiers.push(options.shiftKey ?? layout.data.shiftKey);
  if (stroke.level >= 3) {
    const altGr = options.altGrKey ?? layout.data.altGrKey;
    if (altGr === undefined) throw new AtpError('ATP_INJECT_LAYOUT_DATA', `Layout ${layout.data.id} has no AltGr key for level ${stroke.level}`);
    modifiers.push(altGr);
  }
  return [
    ...modifiers.map((key): InputAction => ({ kind: 'key', key, down: true })),
    { kind: 'key', key: stroke.key, down: true },
    { kind: 'key', key: stroke.key, down: false },
    ...modifiers.reverse().map((key): InputAction => ({ kind: 'key', key, down: false })),
  ];
}

/** The text as one Keystroke per character (a "\r\n" pair is one). ATP_INJECT_UNMAPPED_CHAR for a character the layout cannot type. */
export function textToKeystrokes(text: string, layout: string | Layout, options: TextOptions = {}): Keystroke[] {
  const resolved = typeof layout === 'string' ? getLayout(layout) : layout;
  const groups: Keystroke[] = [];
  let index = 0;
  for (const ch of text) {
    const at = index;
    index += ch.length;
    if (ch === '\n' && text[at - 1] === '\r') continue; // "\r\n" was typed at the "\r"
    const strokes = resolved.strokes(ch === '\r' ? '\n' : ch);
    if (strokes === undefined) {
      const shown = /\p{C}|\p{Z}/u.test(ch) ? codePoint(ch) : `'${ch}' (${codePoint(ch)})`;
      throw new AtpError('ATP_INJECT_UNMAPPED_CHAR', `Character ${shown} at index ${at} cannot be typed on layout '${resolved.data.id}' (${resolved.data.description})`, {
        details: { char: ch, codePoint: codePoint(ch), index: at, layout: resolved.data.id },
      });
    }
    groups.push({ label: ch === '\r' ? '\n' : ch, actions: strokes.flatMap((s) => strokeActions(s, resolved, options)) });
  }
  return groups;
}

/** The text as one flat list of actions (textToKeystrokes, concatenated). */
export function textToActions(text: string, layout: string | Layout, options: TextOptions = {}): InputAction[] {
  return textToKeystrokes(text, layout, options).flatMap((g) => g.actions);
}

/** 'ctrl+alt+delete': presses the keys in the order written and releases them in reverse. */
export function comboToKeystroke(combo: string): Keystroke {
  const keys = parseCombo(combo);
  return {
    label: combo,
    actions: [
      ...keys.map((key): InputAction => ({ kind: 'key', key, down: true })),
      ...[...keys].reverse().map((key): InputAction => ({ kind: 'key', key, down: false })),
    ],
  };
}

export function comboToActions(combo: string): InputAction[] {
  return comboToKeystroke(combo).actions;
}
