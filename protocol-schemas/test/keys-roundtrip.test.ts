// Walks every row of data/keymaps.csv, parsed here independently of the generator,
// and checks the key table converts each of the row's codes both ways.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  KEY_AMBIGUITIES, KEYTABLE_SOURCE, allKeys, getKey, keyFromCode, keyFromEvdev, keyToCode, keyToCodes, keysFromCode,
  type CodeSystem, type KeyId,
} from '@atp/protocol';

const text = readFileSync(new URL('../data/keymaps.csv', import.meta.url), 'utf8');
const lines = text.split(/\r?\n/).filter((l) => l !== '');
const header = (lines[0] ?? '').split(',').map((h) => h.replace(/^"(.*)"$/, '$1'));
const rows = lines.slice(1).map((l) => l.split(','));
const cell = (row: readonly string[], name: string): string => {
  const i = header.indexOf(name);
  if (i < 0) throw new Error(`no column ${name}`);
  return row[i] ?? '';
};

/** QEMU's qnum rule (keycodemapdb keymap-gen), restated for the test. */
const qnum = (set1: number): number => (set1 === 0xf1 || set1 === 0xf2 ? set1 & 0x7f : set1 > 0xff ? 0x80 | (set1 & 0x7f) : set1);

type Value = number | string;
const COLUMNS: readonly [CodeSystem, (row: readonly string[]) => Value | undefined][] = (() => {
  const num = (name: string) => (row: readonly string[]): number | undefined => (cell(row, name) === '' ? undefined : Number(cell(row, name)));
  const str = (name: string) => (row: readonly string[]): string | undefined => {
    const v = cell(row, name);
    return v === '' || v === 'unmapped' ? undefined : v;
  };
  return [
    ['evdev', num('Linux Keycode')], ['qcode', str('QEMU QKeyCode')], ['domCode', str('HTML code')],
    ['set1', num('AT set1 keycode')], ['set2', num('AT set2 keycode')], ['usb', num('USB Keycodes')],
    ['win32Vk', num('Win32 Keycode')], ['keysym', num('X11 keysym')], ['xkbName', str('XKB key name')],
    ['macos', num('OS-X Keycode')],
    ['qnum', (row) => { const s = num('AT set1 keycode')(row); return s === undefined ? undefined : qnum(s); }],
  ];
})();

// Expected relations straight from the CSV: evdev code <-> values, per system.
const codesOfKey = new Map<string, Set<Value>>(); // `${system}:${evdev}` -> values
const keysOfCode = new Map<string, Set<number>>(); // `${system}:${value}` -> evdev codes
const namedCodes = new Set<number>();
for (const row of rows) {
  const evdev = Number(cell(row, 'Linux Keycode'));
  if (cell(row, 'Linux Name') !== '') namedCodes.add(evdev);
  for (const [system, read] of COLUMNS) {
    const v = read(row);
    if (v === undefined) continue;
    const ck = `${system}:${evdev}`;
    codesOfKey.set(ck, (codesOfKey.get(ck) ?? new Set()).add(v));
    const kc = `${system}:${String(v)}`;
    keysOfCode.set(kc, (keysOfCode.get(kc) ?? new Set()).add(evdev));
  }
}
const idOf = (evdev: number): KeyId => {
  const id = keyFromEvdev(evdev);
  if (id === undefined) throw new Error(`no key for evdev ${evdev}`);
  return id;
};
const sorted = <T>(xs: Iterable<T>): T[] => [...xs].sort();

describe('key table against every row of keymaps.csv', () => {
  it('walks every data row; each column converts code -> key -> code and key -> code', () => {
    let walked = 0;
    let checks = 0;
    for (const row of rows) {
      const evdev = Number(cell(row, 'Linux Keycode'));
      const id = idOf(evdev);
      const key = getKey(id);
      expect(key?.evdev).toBe(evdev);
      const name = cell(row, 'Linux Name');
      if (name === '') expect(id).toBe(`KEY_UNNAMED_${evdev}`);
      else expect([key?.id, ...(key?.aliases ?? [])]).toContain(name);

      for (const [system, read] of COLUMNS) {
        const v = read(row);
        if (v === undefined) continue;
        checks++;
        const expectedKeys = sorted([...(keysOfCode.get(`${system}:${String(v)}`) ?? [])].map(idOf));
        // code -> key: every candidate the CSV gives, and nothing else.
        expect(sorted(keysFromCode(system, v)), `${system} ${String(v)}`).toEqual(expectedKeys);
        const primary = keyFromCode(system, v);
        expect(primary).toBeDefined();
        const primaryCodes = keyToCodes(system, primary as string);
        // code -> key -> code: the primary key carries the code; exactly when it has one value there.
        expect(primaryCodes).toContain(v);
        if (primaryCodes.length === 1) expect(keyToCode(system, primary as string)).toBe(v);
        // key -> code: the row's key converts back to every value the CSV gives it in this column.
        const expectedCodes = codesOfKey.get(`${system}:${evdev}`) ?? new Set();
        expect(sorted(keyToCodes(system, id)), `${id} ${system}`).toEqual(sorted(expectedCodes));
        // key -> code -> key is exact whenever the code is unambiguous.
        const own = keyToCode(system, id);
        if (own !== undefined && keysFromCode(system, own).length === 1) expect(keyFromCode(system, own)).toBe(id);
      }
      walked++;
    }
    expect(walked).toBe(lines.length - 1);
    expect(walked).toBe(KEYTABLE_SOURCE.dataRows);
    expect(checks).toBeGreaterThan(3000);
  });

  it('records exactly the codes the CSV shares between keys, primary = first named key in CSV order', () => {
    const fromCsv = [...keysOfCode].filter(([, ks]) => ks.size > 1).map(([k]) => k);
    expect(sorted(KEY_AMBIGUITIES.map((a) => `${a.system}:${String(a.value)}`))).toEqual(sorted(fromCsv));
    for (const a of KEY_AMBIGUITIES) {
      const evdevs = [...(keysOfCode.get(`${a.system}:${String(a.value)}`) ?? [])].sort((x, y) => x - y);
      const primary = evdevs.find((e) => namedCodes.has(e)) ?? evdevs[0];
      expect(a.keys[0]).toBe(idOf(primary as number));
      expect(keyFromCode(a.system, a.value)).toBe(a.keys[0]);
    }
  });

  it('has one key per evdev code and unique ids', () => {
    const evdevs = new Set(rows.map((r) => Number(cell(r, 'Linux Keycode'))));
    expect(allKeys()).toHaveLength(evdevs.size);
    expect(new Set(allKeys().map((k) => k.id)).size).toBe(evdevs.size);
  });
});
