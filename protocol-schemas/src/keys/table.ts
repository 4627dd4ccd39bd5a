/**
 * Lookup maps over the generated key table, built once at module load. Hand-written
 * because it holds no data, only the indexes: the data (and every choice of primary
 * value or primary key) comes from keytable.gen.ts, generated from keymaps.csv.
 */
import { AtpError } from '../errors.js';
import { KEY_AMBIGUITIES, KEY_ROWS, QNUM_INPUT_ALIASES } from './keytable.gen.js';
import { CODE_SYSTEMS, type CodeSystem, type CodeValues, type KeyId, type KeyInfo, type KeyRow } from './types.js';

function list<T extends number | string>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return typeof value === 'object' ? value : [value];
}

function toInfo(row: KeyRow): KeyInfo {
  const codes: KeyInfo['codes'] = {
    evdev: [row.evdev], qcode: list(row.qcode), domCode: list(row.domCode), set1: list(row.set1), set2: list(row.set2),
    usb: list(row.usb), win32Vk: list(row.win32Vk), keysym: list(row.keysym), xkbName: list(row.xkbName),
    macos: list(row.macos), qnum: list(row.qnum),
  };
  const win32Names = list(row.win32Name);
  const info: { -readonly [K in keyof KeyInfo]: KeyInfo[K] } = {
    id: row.id, evdev: row.evdev, aliases: row.aliases ?? [], keysyms: codes.keysym,
    keysymNames: list(row.keysymName), codes, win32Names,
  };
  // Singular fields hold the primary value; absent values stay absent (no `undefined` keys).
  const [qcode] = codes.qcode; if (qcode !== undefined) info.qcode = qcode;
  const [domCode] = codes.domCode; if (domCode !== undefined) info.domCode = domCode;
  const [set1] = codes.set1; if (set1 !== undefined) info.set1 = set1;
  const [set2] = codes.set2; if (set2 !== undefined) info.set2 = set2;
  const [usb] = codes.usb; if (usb !== undefined) info.usb = usb;
  const [vk] = codes.win32Vk; if (vk !== undefined) info.win32Vk = vk;
  const [vkName] = win32Names; if (vkName !== undefined) info.win32Name = vkName;
  const [xkbName] = codes.xkbName; if (xkbName !== undefined) info.xkbName = xkbName;
  const [macos] = codes.macos; if (macos !== undefined) info.macos = macos;
  const [qnum] = codes.qnum; if (qnum !== undefined) info.qnum = qnum;
  return Object.freeze(info);
}

const KEYS: readonly KeyInfo[] = Object.freeze(KEY_ROWS.map(toInfo));
const BY_ID = new Map<string, KeyInfo>(KEYS.map((k) => [k.id, k]));

/** system -> value -> candidate keys (primary first). */
const BY_CODE = new Map<CodeSystem, Map<number | string, KeyId[]>>(CODE_SYSTEMS.map((s) => [s, new Map()]));
for (const key of KEYS) {
  for (const system of CODE_SYSTEMS) {
    const index = BY_CODE.get(system);
    for (const value of key.codes[system]) {
      const owners = index?.get(value);
      if (owners === undefined) index?.set(value, [key.id]);
      else if (!owners.includes(key.id)) owners.push(key.id);
    }
  }
}
for (const { system, value, keys } of KEY_AMBIGUITIES) BY_CODE.get(system)?.set(value, [...keys]);
for (const [value, id] of QNUM_INPUT_ALIASES) BY_CODE.get('qnum')?.set(value, [id]);

function describe(system: CodeSystem, value: number | string): string {
  return typeof value === 'number' && system !== 'evdev' && system !== 'usb' ? `0x${value.toString(16)}` : `'${String(value)}'`;
}

/** The key with this canonical id, or undefined. */
export function getKey(id: string): KeyInfo | undefined {
  return BY_ID.get(id);
}

/** The key with this canonical id; throws ATP_KEY_UNKNOWN otherwise. */
export function requireKeyInfo(id: string): KeyInfo {
  const key = BY_ID.get(id);
  if (key === undefined) throw new AtpError('ATP_KEY_UNKNOWN', `Unknown key id '${id}'`, { details: { system: 'id', value: id } });
  return key;
}

/** Every key, in evdev code order. */
export function allKeys(): readonly KeyInfo[] {
  return KEYS;
}

/** Every key the data gives this code, primary first (empty for an unknown code). */
export function keysFromCode<S extends CodeSystem>(system: S, value: CodeValues[S]): readonly KeyId[] {
  return BY_CODE.get(system)?.get(value) ?? [];
}

/** The primary key for this code, or undefined for an unknown code. */
export function keyFromCode<S extends CodeSystem>(system: S, value: CodeValues[S]): KeyId | undefined {
  return keysFromCode(system, value)[0];
}

/** Like keyFromCode, but throws ATP_KEY_UNKNOWN naming the code system and value. */
export function requireKey<S extends CodeSystem>(system: S, value: CodeValues[S]): KeyId {
  const id = keyFromCode(system, value);
  if (id === undefined) {
    throw new AtpError('ATP_KEY_UNKNOWN', `No key has ${system} ${describe(system, value)}`, { details: { system, value } });
  }
  return id;
}

/** Every value of this key in the system, primary first (empty when it has none). Throws ATP_KEY_UNKNOWN for an unknown id. */
export function keyToCodes<S extends CodeSystem>(system: S, id: string): readonly CodeValues[S][] {
  return requireKeyInfo(id).codes[system];
}

/** The key's primary value in the system, or undefined when it has none. Throws ATP_KEY_UNKNOWN for an unknown id. */
export function keyToCode<S extends CodeSystem>(system: S, id: string): CodeValues[S] | undefined {
  return keyToCodes(system, id)[0];
}

export { KEY_AMBIGUITIES, KEYTABLE_SOURCE } from './keytable.gen.js';
