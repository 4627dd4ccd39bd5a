// Key names for humans, the set-1 and qnum encodings, and spot checks that would
// catch two CSV columns swapped.
import { describe, expect, it } from 'vitest';
import {
  AtpError, FRIENDLY_KEY_ALIASES, allKeys, getKey, keyFromDomCode, keyFromEvdev, keyFromKeysym, keyFromQcode, keyFromQnum,
  keyFromSet1, keyFromSet1Bytes, keyFromUsb, keyFromVk, keyToDomCode, keyToEvdev, keyToKeysyms, keyToQcode, keyToQnum,
  keyToSet1, keyToUsb, keyToVk, keysFromKeysym, keysFromVk, parseCombo, parseKeyName, requireKey, requireKeyInfo, set1Bytes,
} from '@atp/protocol';

function thrown(fn: () => unknown): AtpError {
  try { fn(); } catch (e) { if (e instanceof AtpError) return e; throw e; }
  throw new Error('expected an AtpError');
}

describe('spot checks per column', () => {
  it('KEY_A', () => {
    expect(keyToEvdev('KEY_A')).toBe(30);
    expect(keyToQcode('KEY_A')).toBe('a');
    expect(keyToDomCode('KEY_A')).toBe('KeyA');
    expect(keyToSet1('KEY_A')).toBe(0x1e);
    expect(keyToUsb('KEY_A')).toBe(4);
    expect(keyToVk('KEY_A')).toBe(0x41);
    expect(keyToKeysyms('KEY_A')).toEqual([0x61, 0x41]);
    expect(getKey('KEY_A')).toMatchObject({ set2: 0x1c, xkbName: 'AC01', macos: 0x00, keysymNames: ['XK_a', 'XK_A'], win32Name: 'VK_A' });
    for (const id of [keyFromEvdev(30), keyFromQcode('a'), keyFromDomCode('KeyA'), keyFromSet1(0x1e), keyFromUsb(4), keyFromVk(0x41), keyFromKeysym(0x61), keyFromKeysym(0x41)]) {
      expect(id).toBe('KEY_A');
    }
  });

  it('E0 keys and left/right pairs', () => {
    expect(keyToSet1('KEY_KPENTER')).toBe(0xe01c);
    expect(keyFromSet1(0xe01c)).toBe('KEY_KPENTER');
    expect(keyToQcode('KEY_RIGHTCTRL')).toBe('ctrl_r');
    expect(keyToDomCode('KEY_RIGHTCTRL')).toBe('ControlRight');
    expect(keyToVk('KEY_LEFTCTRL')).toBe(0xa2); // VK_LCONTROL is primary
    expect(keyFromVk(0x11)).toBe('KEY_LEFTCTRL'); // VK_CONTROL still resolves
    expect(getKey('KEY_LEFTCTRL')?.codes.win32Vk).toEqual([0xa2, 0x11]);
    expect(getKey('KEY_LEFTSHIFT')?.aliases).toEqual(['KEY_SHIFT']);
  });

  it('shared codes expose every candidate, primary first', () => {
    expect(keysFromVk(0xdc)).toEqual(['KEY_BACKSLASH', 'KEY_YEN']);
    expect(keyFromVk(0xdc)).toBe('KEY_BACKSLASH');
    expect(keysFromKeysym(0x5f)).toEqual(['KEY_MINUS', 'KEY_RO']);
    expect(keyFromSet1(0x54)).toBe('KEY_SYSRQ');
    expect(keysFromVk(0x41)).toEqual(['KEY_A']);
    expect(keysFromVk(0xffff)).toEqual([]);
  });
});

describe('set-1 bytes and QEMU qnum', () => {
  it('encodes E0 keys as two bytes and folds E0 into bit 0x80 for qnum', () => {
    expect(set1Bytes('KEY_RIGHTCTRL')).toEqual([0xe0, 0x1d]);
    expect(keyToQnum('KEY_RIGHTCTRL')).toBe(0x9d);
    expect(set1Bytes('KEY_UP')).toEqual([0xe0, 0x48]);
    expect(keyToQnum('KEY_UP')).toBe(0xc8);
    expect(set1Bytes('KEY_KPENTER')).toEqual([0xe0, 0x1c]);
    expect(keyToQnum('KEY_KPENTER')).toBe(0x9c);
    expect(keyFromQnum(0x9c)).toBe('KEY_KPENTER');
    expect(keyFromSet1Bytes([0xe0, 0x1c])).toBe('KEY_KPENTER');
  });

  it('keeps plain keys one byte, and follows keycodemapdb for Hanja/Hangeul and SysRq', () => {
    expect(set1Bytes('KEY_A')).toEqual([0x1e]);
    expect(keyToQnum('KEY_A')).toBe(0x1e);
    expect(keyFromSet1Bytes([0x1e])).toBe('KEY_A');
    expect(keyFromSet1Bytes([0xe1, 0x1d])).toBeUndefined();
    expect(keyToQnum('KEY_HANGEUL')).toBe(0x72);
    expect(keyToQnum('KEY_HANJA')).toBe(0x71);
    expect(keyToQnum('KEY_SYSRQ')).toBe(0x54);
    expect(keyFromQnum(0xb7)).toBe('KEY_SYSRQ');
    expect(set1Bytes('BTN_LEFT')).toBeUndefined();
  });
});

describe('unknown codes and ids', () => {
  it('from* returns undefined; requireKey throws ATP_KEY_UNKNOWN naming system and value', () => {
    expect(keyFromEvdev(99999)).toBeUndefined();
    expect(keyFromQcode('nope')).toBeUndefined();
    const e = thrown(() => requireKey('win32Vk', 0x1234));
    expect(e.code).toBe('ATP_KEY_UNKNOWN');
    expect(e.message).toMatch(/win32Vk 0x1234/);
    expect(e.details).toEqual({ system: 'win32Vk', value: 0x1234 });
    expect(requireKey('domCode', 'Enter')).toBe('KEY_ENTER');
  });

  it('keyTo* throws for an id that is not in the table, returns undefined for a missing code', () => {
    expect(thrown(() => keyToQcode('KEY_NOPE')).code).toBe('ATP_KEY_UNKNOWN');
    expect(thrown(() => requireKeyInfo('nope')).code).toBe('ATP_KEY_UNKNOWN');
    expect(keyToUsb('BTN_LEFT')).toBeUndefined();
  });
});

describe('parseKeyName', () => {
  it.each([
    ['KEY_LEFTSHIFT', 'KEY_LEFTSHIFT'], ['key_leftshift', 'KEY_LEFTSHIFT'], ['leftshift', 'KEY_LEFTSHIFT'], ['LeftShift', 'KEY_LEFTSHIFT'],
    ['kpenter', 'KEY_KPENTER'], ['f13', 'KEY_F13'], ['F24', 'KEY_F24'], ['a', 'KEY_A'], ['1', 'KEY_1'], ['btn_left', 'BTN_LEFT'],
    ['ctrl', 'KEY_LEFTCTRL'], ['shift_r', 'KEY_RIGHTSHIFT'], ['kp_enter', 'KEY_KPENTER'], ['ret', 'KEY_ENTER'], ['delete', 'KEY_DELETE'],
    ['ShiftLeft', 'KEY_LEFTSHIFT'], ['KeyA', 'KEY_A'], ['Enter', 'KEY_ENTER'], ['shiftleft', 'KEY_LEFTSHIFT'], ['PrintScreen', 'KEY_SYSRQ'],
    ['alt', 'KEY_LEFTALT'], ['shift', 'KEY_LEFTSHIFT'], ['meta', 'KEY_LEFTMETA'], ['super', 'KEY_LEFTMETA'], ['win', 'KEY_LEFTMETA'],
    ['altgr', 'KEY_RIGHTALT'], ['enter', 'KEY_ENTER'], ['esc', 'KEY_ESC'], ['del', 'KEY_DELETE'], ['space', 'KEY_SPACE'], ['tab', 'KEY_TAB'],
    ['backspace', 'KEY_BACKSPACE'], ['up', 'KEY_UP'], ['down', 'KEY_DOWN'], ['left', 'KEY_LEFT'], ['right', 'KEY_RIGHT'],
    ['pgup', 'KEY_PAGEUP'], ['pgdn', 'KEY_PAGEDOWN'], ['home', 'KEY_HOME'], ['end', 'KEY_END'], ['ins', 'KEY_INSERT'],
    ['plus', 'KEY_KPPLUS'], ['equal', 'KEY_EQUAL'], ['kpplus', 'KEY_KPPLUS'], ['print', 'KEY_PRINT'], ['KEY_SHIFT', 'KEY_LEFTSHIFT'],
    ['btn_mouse', 'BTN_LEFT'], ['  Ctrl ', 'KEY_LEFTCTRL'],
  ])('%s -> %s', (name, id) => {
    expect(parseKeyName(name)).toBe(id);
  });

  it('resolves every F key and every alias target to a real key', () => {
    for (let n = 1; n <= 24; n++) expect(parseKeyName(`f${n}`)).toBe(`KEY_F${n}`);
    for (const id of Object.values(FRIENDLY_KEY_ALIASES)) expect(getKey(id)).toBeDefined();
  });

  it('no friendly alias shadows a canonical name, qcode or DOM code that means a different key', () => {
    for (const [alias, id] of Object.entries(FRIENDLY_KEY_ALIASES)) {
      for (const k of allKeys()) {
        const names = [k.id.slice(4), ...k.codes.qcode, ...k.codes.domCode].map((n) => n.toLowerCase());
        if (names.includes(alias)) expect(k.id, alias).toBe(id);
      }
    }
  });

  it('throws ATP_KEY_UNKNOWN with up to three suggestions', () => {
    const e = thrown(() => parseKeyName('ctlr'));
    expect(e.code).toBe('ATP_KEY_UNKNOWN');
    const suggestions = e.details['suggestions'];
    expect(Array.isArray(suggestions) && suggestions.length >= 1 && suggestions.length <= 3).toBe(true);
    expect(suggestions).toContain('ctrl');
    expect(e.message).toMatch(/ctlr.*did you mean/);
    expect(thrown(() => parseKeyName('pgupp')).details['suggestions']).toContain('pgup');
    expect(thrown(() => parseKeyName('zzzzzzzzzzzz')).details['suggestions']).toEqual([]);
    expect(thrown(() => parseKeyName('')).code).toBe('ATP_KEY_UNKNOWN');
  });
});

describe('parseCombo', () => {
  it('splits on + in written order', () => {
    expect(parseCombo('ctrl+alt+delete')).toEqual(['KEY_LEFTCTRL', 'KEY_LEFTALT', 'KEY_DELETE']);
    expect(parseCombo('Ctrl + Shift + KeyT')).toEqual(['KEY_LEFTCTRL', 'KEY_LEFTSHIFT', 'KEY_T']);
    expect(parseCombo('f5')).toEqual(['KEY_F5']);
    expect(parseCombo('ctrl+plus')).toEqual(['KEY_LEFTCTRL', 'KEY_KPPLUS']);
  });

  it('rejects empty parts, unknown names and repeated keys', () => {
    expect(thrown(() => parseCombo('ctrl++')).code).toBe('ATP_KEY_UNKNOWN');
    expect(thrown(() => parseCombo('')).code).toBe('ATP_KEY_UNKNOWN');
    expect(thrown(() => parseCombo('ctrl-alt-delete')).code).toBe('ATP_KEY_UNKNOWN');
    expect(thrown(() => parseCombo('ctrl+control')).code).toBe('ATP_SCHEMA_INVALID');
  });
});
