/**
 * Layouts generated from Debian's real XKB data: known facts about us, de and fr,
 * the checked-in layouts.gen.ts matching what this machine's data generates, the
 * XKB reader's merge rules, and text/combo -> actions.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { buildAll, DEFAULT_PATHS, OUTPUT_PATH, render } from '../scripts/gen-layouts.js';
import { comboToActions, getLayout, textToActions, textToKeystrokes, type InputAction } from '../src/inject/index.js';
import { resolveSymbols } from '../src/inject/layouts/xkb/symbols.js';

function requireData(): void {
  for (const file of [DEFAULT_PATHS.keysymdef, DEFAULT_PATHS.compose, `${DEFAULT_PATHS.xkbRoot}/symbols/us`]) {
    if (!existsSync(file)) throw new Error(`${file} is required: apt-get install -y xkb-data x11proto-dev libx11-data (.ci/run does this)`);
  }
}

const PRINTABLE_ASCII = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
const stroke = (layout: string, ch: string): unknown => getLayout(layout).strokes(ch);

describe('generated layouts', () => {
  it('layouts.gen.ts is what the XKB data on this machine generates (npm run gen:layouts -- --check)', () => {
    requireData();
    const { reports, sources } = buildAll();
    expect(readFileSync(OUTPUT_PATH, 'utf8')).toBe(render(reports, sources));
  });

  it('us: letters, shifted letters and shifted digits', () => {
    expect(stroke('us', 'a')).toEqual([{ key: 'KEY_A', level: 1 }]);
    expect(stroke('us', 'A')).toEqual([{ key: 'KEY_A', level: 2 }]);
    expect(stroke('us', '@')).toEqual([{ key: 'KEY_2', level: 2 }]);
    expect(stroke('us', '<')).toEqual([{ key: 'KEY_COMMA', level: 2 }]); // ANSI: no KEY_102ND
    expect(stroke('us', '\n')).toEqual([{ key: 'KEY_ENTER', level: 1 }]);
    expect(stroke('us', '\t')).toEqual([{ key: 'KEY_TAB', level: 1 }]);
    expect(getLayout('us').data.altGrKey).toBeUndefined();
  });

  it('de: QWERTZ, AltGr characters, sharp s, dead keys', () => {
    expect(stroke('de', 'z')).toEqual([{ key: 'KEY_Y', level: 1 }]);
    expect(stroke('de', 'y')).toEqual([{ key: 'KEY_Z', level: 1 }]);
    expect(stroke('de', '@')).toEqual([{ key: 'KEY_Q', level: 3 }]);
    expect(stroke('de', 'ß')).toEqual([{ key: 'KEY_MINUS', level: 1 }]);
    expect(stroke('de', '€')).toEqual([{ key: 'KEY_E', level: 3 }]);
    expect(stroke('de', '<')).toEqual([{ key: 'KEY_102ND', level: 1 }]);
    expect(getLayout('de').data.altGrKey).toBe('KEY_RIGHTALT');
    expect(stroke('de', '^')).toEqual([{ key: 'KEY_GRAVE', level: 1 }, { key: 'KEY_SPACE', level: 1 }]);
    expect(stroke('de', '`')).toEqual([{ key: 'KEY_EQUAL', level: 2 }, { key: 'KEY_SPACE', level: 1 }]);
    expect(stroke('de', 'é')).toEqual([{ key: 'KEY_EQUAL', level: 1 }, { key: 'KEY_E', level: 1 }]);
  });

  it('fr: AZERTY, shifted digits, accented letters on the digit row', () => {
    expect(stroke('fr', 'a')).toEqual([{ key: 'KEY_Q', level: 1 }]);
    expect(stroke('fr', 'q')).toEqual([{ key: 'KEY_A', level: 1 }]);
    expect(stroke('fr', '1')).toEqual([{ key: 'KEY_1', level: 2 }]);
    expect(stroke('fr', 'é')).toEqual([{ key: 'KEY_2', level: 1 }]);
    expect(stroke('fr', '@')).toEqual([{ key: 'KEY_0', level: 3 }]);
    expect(stroke('fr', 'ê')).toEqual([{ key: 'KEY_LEFTBRACE', level: 1 }, { key: 'KEY_E', level: 1 }]); // dead_circumflex + e
  });

  it('every printable ASCII character is typed directly on us and fr; de needs dead key + space for ^ and ` only', () => {
    const needsDeadKey = (layout: string): string[] => PRINTABLE_ASCII.filter((ch) => (getLayout(layout).strokes(ch)?.length ?? 0) !== 1);
    expect(needsDeadKey('us')).toEqual([]);
    expect(needsDeadKey('fr')).toEqual([]); // X11's fr(basic) has ^ ` ~ " on keys (AltGr+9, AltGr+7, Shift+², 3)
    expect(needsDeadKey('de')).toEqual(['^', '`']);
    for (const layout of ['us', 'de', 'fr']) for (const ch of PRINTABLE_ASCII) expect(getLayout(layout).strokes(ch), `${layout} ${ch}`).toBeDefined();
  });

  it('an unknown layout names the known ones', () => {
    expect(() => getLayout('dvorak-xx')).toThrow(expect.objectContaining({ code: 'ATP_INJECT_LAYOUT_UNKNOWN', message: expect.stringContaining('us, de, fr') }));
  });
});

describe('XKB symbols reader', () => {
  const files: Record<string, string> = {
    base: 'default partial xkb_symbols "basic" {\n key <AE01> { [ 1, exclam, onesuperior ] };\n key <AB01> { [ z, Z ] };\n};\n' +
      'xkb_symbols "other" { name[Group1]="Other"; key <AB01> { type[Group1]="TWO_LEVEL", symbols[Group1]= [ y, Y ] }; };',
    top: 'default xkb_symbols "basic" {\n include "base"\n // comment\n key <AE01> { [ NoSymbol, at ] };\n augment key <AB01> { [ q, Q, w ] };\n replace key <AB02> { [ x ] };\n};',
  };
  const load = (name: string): string => {
    const text = files[name];
    if (text === undefined) throw new Error(`no file ${name}`);
    return text;
  };

  it('override keeps old levels where the new one is NoSymbol; augment only fills empty levels', () => {
    const { keys } = resolveSymbols('top', load);
    expect(keys.get('AE01')?.syms).toEqual(['1', 'at', 'onesuperior']);
    expect(keys.get('AB01')?.syms).toEqual(['z', 'Z', 'w']);
    expect(keys.get('AB02')?.syms).toEqual(['x']);
  });

  it('+ overrides and | augments across include specs; explicit types and names are kept', () => {
    const plus = resolveSymbols('base+base(other)', load);
    expect(plus.keys.get('AB01')).toEqual({ syms: ['y', 'Y'], type: 'TWO_LEVEL' });
    expect(plus.name).toBe('Other');
    expect(resolveSymbols('base|base(other)', load).keys.get('AB01')?.syms).toEqual(['z', 'Z']);
  });

  it('a missing section is ATP_INJECT_LAYOUT_DATA', () => {
    expect(() => resolveSymbols('base(nope)', load)).toThrow(expect.objectContaining({ code: 'ATP_INJECT_LAYOUT_DATA' }));
  });
});

const key = (k: string, down: boolean): InputAction => ({ kind: 'key', key: k as `KEY_${string}`, down });

describe('text and combos to actions', () => {
  it('one character at a time; Shift and AltGr go down before the key and up right after it', () => {
    expect(textToActions('aA', 'us')).toEqual([
      key('KEY_A', true), key('KEY_A', false),
      key('KEY_LEFTSHIFT', true), key('KEY_A', true), key('KEY_A', false), key('KEY_LEFTSHIFT', false),
    ]);
    expect(textToActions('@', 'de')).toEqual([key('KEY_RIGHTALT', true), key('KEY_Q', true), key('KEY_Q', false), key('KEY_RIGHTALT', false)]);
  });

  it('level 4 presses Shift then AltGr and releases in reverse; a dead-key character is two strokes in one group', () => {
    const fourth = getLayout('de').data.chars.find(([, , level]) => level === 4);
    expect(fourth).toBeDefined();
    const [ch, k] = fourth ?? ['', ''];
    expect(textToActions(ch, 'de')).toEqual([
      key('KEY_LEFTSHIFT', true), key('KEY_RIGHTALT', true), key(k, true), key(k, false), key('KEY_RIGHTALT', false), key('KEY_LEFTSHIFT', false),
    ]);
    const groups = textToKeystrokes('^x', 'de');
    expect(groups.map((g) => g.label)).toEqual(['^', 'x']);
    expect(groups[0]?.actions).toEqual([key('KEY_GRAVE', true), key('KEY_GRAVE', false), key('KEY_SPACE', true), key('KEY_SPACE', false)]);
  });

  it('newline is Enter (CRLF once), tab is Tab', () => {
    expect(textToKeystrokes('a\r\nb\tc\n', 'us').map((g) => g.actions[0])).toEqual(
      ['KEY_A', 'KEY_ENTER', 'KEY_B', 'KEY_TAB', 'KEY_C', 'KEY_ENTER'].map((k) => key(k, true)),
    );
  });

  it('a character the layout cannot type is ATP_INJECT_UNMAPPED_CHAR naming it, its index and the layout', () => {
    let caught: unknown;
    try {
      textToActions('ok 😀 ß', 'us');
    } catch (error) {
      caught = error;
    }
    expect(isAtpError(caught, 'ATP_INJECT_UNMAPPED_CHAR')).toBe(true);
    expect(caught).toMatchObject({ details: { char: '😀', codePoint: 'U+1F600', index: 3, layout: 'us' } });
    expect(String((caught as Error).message)).toMatch(/U\+1F600.*index 3.*'us'/);
    expect(() => textToActions('ß', 'us')).toThrow(expect.objectContaining({ message: expect.stringContaining('U+00DF') }));
  });

  it('comboToActions presses in order and releases in reverse', () => {
    expect(comboToActions('ctrl+alt+delete')).toEqual([
      key('KEY_LEFTCTRL', true), key('KEY_LEFTALT', true), key('KEY_DELETE', true),
      key('KEY_DELETE', false), key('KEY_LEFTALT', false), key('KEY_LEFTCTRL', false),
    ]);
    expect(() => comboToActions('ctrl+nosuchkey')).toThrow(expect.objectContaining({ code: 'ATP_KEY_UNKNOWN' }));
  });
});
