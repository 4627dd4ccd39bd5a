// The checked-in keytable.gen.ts must be exactly what the generator makes from
// keymaps.csv (so a hand edit fails), and the generator's rules hold on small inputs.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { CSV_PATH, OUTPUT_PATH, buildKeys, findAmbiguities, generateKeytable, main, parseCsv } from '../scripts/gen-keytable.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const HEADER = '"Linux Name","Linux Keycode","OS-X Name","OS-X Keycode","AT set1 keycode","AT set2 keycode","AT set3 keycode","USB Keycodes","Win32 Name","Win32 Keycode","Xwin XT","Xfree86 KBD XT","X11 keysym name","X11 keysym","HTML code","XKB key name","QEMU QKeyCode","Sun KBD","Apple ADB"';
const row = (cells: Record<number, string>): string => Array.from({ length: 19 }, (_, i) => cells[i] ?? '').join(',');

const tempDirs: string[] = [];
afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('keytable.gen.ts', () => {
  it('is up to date with data/keymaps.csv (regenerated in memory)', () => {
    const expected = generateKeytable(readFileSync(CSV_PATH, 'utf8'));
    expect(readFileSync(OUTPUT_PATH, 'utf8') === expected, 'keytable.gen.ts is stale or hand-edited: run `npm run gen`').toBe(true);
  });

  it('says it is generated from keymaps.csv under BSD-3-Clause and must not be edited', () => {
    const head = readFileSync(OUTPUT_PATH, 'utf8').split('\n').slice(0, 4).join('\n');
    expect(head).toMatch(/GENERATED FILE - DO NOT EDIT BY HAND/);
    expect(head).toMatch(/data\/keymaps\.csv/);
    expect(head).toMatch(/BSD-3-Clause/);
    expect(head).toMatch(/keycodemapdb/);
  });

  it('`gen-keytable.ts --check` exits 0 on the checked-in file (real CLI through tsx)', async () => {
    const { stdout } = await promisify(execFile)(join(root, 'node_modules/.bin/tsx'), [join(root, 'protocol-schemas/scripts/gen-keytable.ts'), '--check'], { cwd: root });
    expect(stdout).toMatch(/up to date/);
  });

  it('--check returns 1 for a stale file and 0 once regenerated', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atp-keytable-'));
    tempDirs.push(dir);
    const paths = { csv: CSV_PATH, output: join(dir, 'keytable.gen.ts') };
    const stderr = process.stderr.write;
    process.stderr.write = () => true;
    const stdout = process.stdout.write;
    process.stdout.write = () => true;
    try {
      expect(main(['--check'], paths)).toBe(1); // missing file
      await writeFile(paths.output, (await readFile(OUTPUT_PATH, 'utf8')).replace('qcode: "a"', 'qcode: "b"'));
      expect(main(['--check'], paths)).toBe(1); // hand edit
      expect(main([], paths)).toBe(0);
      expect(main(['--check'], paths)).toBe(0);
    } finally {
      process.stderr.write = stderr;
      process.stdout.write = stdout;
    }
  });
});

describe('generator', () => {
  it('parses quoted fields, "" escapes and CRLF', () => {
    expect(parseCsv('"a,b","c""d",e\r\n1,,3\n')).toEqual([['a,b', 'c"d', 'e'], ['1', '', '3']]);
    expect(parseCsv('x,y')).toEqual([['x', 'y']]);
    expect(() => parseCsv('"open')).toThrow(/unterminated/);
  });

  it('merges rows per evdev code, names the key by the last Linux name, and picks primaries', () => {
    const csv = [
      HEADER,
      row({ 0: 'KEY_SHIFT', 1: '42', 4: '0x2a', 8: 'VK_SHIFT', 9: '0x10', 16: 'shift' }),
      row({ 0: 'KEY_LEFTSHIFT', 1: '42', 4: '0x2a', 8: 'VK_LSHIFT', 9: '0xa0', 16: 'shift' }),
      row({ 1: '84', 4: '0x54' }),
      row({ 0: 'KEY_Q', 1: '16', 12: 'XK_Q', 13: '0x0051' }),
      row({ 0: 'KEY_Q', 1: '16', 12: 'XK_q', 13: '0x0071' }),
      row({ 0: 'KEY_SYSRQ', 1: '99', 4: '0x54', 9: '0x10', 16: 'unmapped' }),
      row({ 0: 'KEY_KPENTER', 1: '96', 4: '0xe01c' }),
    ].join('\n');
    const { keys, dataRows } = buildKeys(csv);
    expect(dataRows).toBe(7);
    const byId = new Map(keys.map((k) => [k.id, k]));
    expect(byId.get('KEY_LEFTSHIFT')?.aliases).toEqual(['KEY_SHIFT']);
    expect(byId.get('KEY_LEFTSHIFT')?.values.get('win32Vk')).toEqual([0xa0, 0x10]); // canonical-name row first
    expect(byId.get('KEY_Q')?.values.get('keysym')).toEqual([0x71, 0x51]); // lower case first
    expect(byId.get('KEY_SYSRQ')?.values.get('qcode')).toEqual([]); // 'unmapped' is absent
    expect(byId.get('KEY_KPENTER')?.values.get('qnum')).toEqual([0x9c]);
    expect(byId.has('KEY_UNNAMED_84')).toBe(true);
    expect(findAmbiguities(keys)).toEqual([
      { system: 'set1', value: 0x54, keys: ['KEY_SYSRQ', 'KEY_UNNAMED_84'] }, // named before unnamed
      { system: 'win32Vk', value: 0x10, keys: ['KEY_LEFTSHIFT', 'KEY_SYSRQ'] }, // CSV order
      { system: 'qnum', value: 0x54, keys: ['KEY_SYSRQ', 'KEY_UNNAMED_84'] },
    ]);
  });

  it('rejects malformed data with ATP_SCHEMA_INVALID', () => {
    const bad = (csv: string): unknown => { try { buildKeys(csv); return undefined; } catch (e) { return e; } };
    expect(isAtpError(bad(`${HEADER}\n${row({ 0: 'KEY_A', 1: 'thirty' })}`), 'ATP_SCHEMA_INVALID')).toBe(true);
    expect(isAtpError(bad(`${HEADER}\n${row({ 0: 'KEY_A', 1: '30', 4: '0x1e0' })}`), 'ATP_SCHEMA_INVALID')).toBe(true); // no qnum form
    expect(isAtpError(bad(`${HEADER}\nKEY_A,30`), 'ATP_SCHEMA_INVALID')).toBe(true); // short row
    expect(isAtpError(bad('"Linux Name","Linux Keycode"\nKEY_A,30'), 'ATP_SCHEMA_INVALID')).toBe(true); // missing columns
  });
});
