/**
 * Hostile-input arbitraries for the fuzz targets: random bytes and text, and
 * structure-aware mutations of valid seed messages (truncate, flip bits,
 * oversize length fields, wrong JSON types, deep nesting, huge strings,
 * unicode and NUL, YAML alias bombs and duplicate keys). Positions are drawn as
 * fractions so one edit fits a seed of any length. Hand-written: fast-check
 * gives the generators and shrinking, the mutations are ours.
 */
import fc from 'fast-check';

const at = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const pos = (fraction: number, length: number): number => Math.floor(fraction * (length + 1));

/** Values a hostile length or count field takes: edges, powers of two, "4 GB". */
export const EXTREME_U32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x100000, 0x4000000, 0x8000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff] as const;

type ByteEdit =
  | { op: 'truncate'; at: number }
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'length'; at: number; value: number; width: 2 | 4; little: boolean }
  | { op: 'repeat'; at: number; n: number; times: number };

const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at, value: fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x0a, 0x0d, 0x00) }),
  fc.record({ op: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at, n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('length' as const), at, value: fc.constantFrom(...EXTREME_U32), width: fc.constantFrom(2 as const, 4 as const), little: fc.boolean() }),
  fc.record({ op: fc.constant('repeat' as const), at, n: fc.integer({ min: 1, max: 16 }), times: fc.integer({ min: 2, max: 64 }) }),
);

function applyByteEdit(b: Uint8Array, e: ByteEdit): Uint8Array {
  const i = Math.min(pos(e.at, b.length), b.length);
  switch (e.op) {
    case 'truncate':
      return b.slice(0, i);
    case 'flip':
    case 'set': {
      if (b.length === 0) return b;
      const out = b.slice();
      const j = Math.min(i, b.length - 1);
      out[j] = e.op === 'flip' ? (out[j] ?? 0) ^ (1 << e.bit) : e.value;
      return out;
    }
    case 'insert':
      return Buffer.concat([b.subarray(0, i), e.bytes, b.subarray(i)]);
    case 'delete':
      return Buffer.concat([b.subarray(0, i), b.subarray(i + e.n)]);
    case 'length': {
      const field = Buffer.alloc(e.width);
      if (e.width === 4 && e.little) field.writeUInt32LE(e.value);
      else if (e.width === 4) field.writeUInt32BE(e.value);
      else if (e.little) field.writeUInt16LE(e.value & 0xffff);
      else field.writeUInt16BE(e.value & 0xffff);
      const out = Buffer.from(b);
      field.copy(out, Math.min(i, Math.max(0, out.length - e.width)));
      return new Uint8Array(out);
    }
    case 'repeat': {
      const piece = b.subarray(i, i + e.n);
      return Buffer.concat([b.subarray(0, i), ...Array.from({ length: e.times }, () => piece), b.subarray(i)]);
    }
  }
}

/** Random bytes, the seeds themselves, and seeds (or two seeds joined) with up to `maxEdits` edits. */
export function mutatedBytes(seeds: readonly Uint8Array[], maxEdits = 4): fc.Arbitrary<Uint8Array> {
  const seed = fc.constantFrom(...seeds);
  const joined = fc.oneof(seed, fc.tuple(seed, seed).map(([a, b]) => new Uint8Array(Buffer.concat([a, b]))));
  return fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 256 }) },
    { weight: 1, arbitrary: seed },
    { weight: 7, arbitrary: fc.tuple(joined, fc.array(byteEdit, { minLength: 1, maxLength: maxEdits })).map(([b, edits]) => edits.reduce(applyByteEdit, b)) },
  );
}

/** A byte string cut into chunks of the drawn sizes (the rest as one last chunk), as a socket delivers it. */
export function chunked(bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array[]> {
  return fc.tuple(bytes, fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 })).map(([b, sizes]) => {
    const out: Uint8Array[] = [];
    let i = 0;
    for (const s of sizes) {
      if (i >= b.length) break;
      out.push(b.subarray(i, i + s));
      i += s;
    }
    if (i < b.length) out.push(b.subarray(i));
    return out;
  });
}

/** Pieces of text that break parsers: NUL, lone surrogates, bidi, quotes, YAML and XML syntax, prototype keys. */
export const HOSTILE_TOKENS = [
  '\u0000', '\uffff', '\ud800', '\udfff', '\u202e', '\ufeff', '😀', 'é', '\r\n', '\r', '\n', '\t', ' ', '"', "'", '\\', '{', '}', '[', ']', ':', ': ', ',', '- ',
  '&', '<', '>', '*', '!', '#', '%', '@', '`', '|', '>-', '~', '__proto__', 'constructor', 'toString', 'null', 'true', '1e309', '-0', '9007199254740993',
  '0x10', '.nan', '.inf', '&a ', '*a', '<<: *a', '!!binary ', '!!js/function ', '!!str ', '!!map ', '? ', '---\n', '...\n', '%YAML 1.1\n',
  '&#x110000;', '&#0;', '&#xD800;', '&constructor;', '&lt;', '&amp', '<![CDATA[', ']]>', '<!DOCTYPE x [<!ENTITY a "b">]>', '<?xml version="1.0"?>', '<!--', '-->',
  'error: ', 'virsh # ', "event 'lifecycle' for domain 'x': ", "'", ' (', ')',
] as const;

type TextEdit =
  | { op: 'truncate'; at: number }
  | { op: 'delete'; at: number; n: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'run'; at: number; unit: string; times: number }
  | { op: 'dupLine'; at: number }
  | { op: 'swapChar'; at: number; char: string };

const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.record({ op: fc.constant('delete' as const), at, n: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ op: fc.constant('insert' as const), at, text: fc.oneof(fc.constantFrom(...HOSTILE_TOKENS), fc.string({ maxLength: 8, unit: 'binary' })) }),
  fc.record({ op: fc.constant('run' as const), at, unit: fc.constantFrom('A', ' ', '\t', '[', '{', '- ', '\n', 'é', '0', '&amp;', '<a>'), times: fc.constantFrom(100, 1000, 10_000, 100_000) }),
  fc.record({ op: fc.constant('dupLine' as const), at }),
  fc.record({ op: fc.constant('swapChar' as const), at, char: fc.constantFrom(...HOSTILE_TOKENS) }),
);

function applyTextEdit(t: string, e: TextEdit): string {
  const i = Math.min(pos(e.at, t.length), t.length);
  switch (e.op) {
    case 'truncate':
      return t.slice(0, i);
    case 'delete':
      return t.slice(0, i) + t.slice(i + e.n);
    case 'insert':
      return t.slice(0, i) + e.text + t.slice(i);
    case 'run':
      return t.slice(0, i) + e.unit.repeat(e.times) + t.slice(i);
    case 'swapChar':
      return t.slice(0, i) + e.char + t.slice(i + 1);
    case 'dupLine': {
      // A line repeated right after itself: a duplicate key in YAML, a repeated field in virsh output.
      const lines = t.split('\n');
      const k = Math.min(pos(e.at, lines.length - 1), lines.length - 1);
      lines.splice(k, 0, lines[k] ?? '');
      return lines.join('\n');
    }
  }
}

/** Random text, the seeds, and seeds with up to `maxEdits` text edits. */
export function mutatedText(seeds: readonly string[], maxEdits = 4): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.string({ maxLength: 200, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...seeds), fc.array(textEdit, { minLength: 1, maxLength: maxEdits })).map(([t, edits]) => edits.reduce(applyTextEdit, t)) },
  );
}

const DEEP = '\u0001DEEP\u0001';

/** Hostile JSON values to put in place of one node: wrong types, huge strings and numbers, prototype keys. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(null, true, 0, -1, -0, 1.5, 1e308, -1e308, 2 ** 53 + 2, 2 ** 64, '', [], {}, { __proto__: null }, 'A'.repeat(200_000), '\u0000', '\ud800', '😀'.repeat(1000)),
  fc.constant(JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"x": 1}}}') as unknown),
  fc.constant(Array.from({ length: 50_000 }, () => 0)),
  fc.constant(DEEP),
);

function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function replaceAt(value: unknown, path: readonly (string | number)[], by: unknown, dropKey: boolean): unknown {
  if (path.length === 0) return by;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? replaceAt(v, rest, by, dropKey) : v));
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).flatMap(([k, v]): [string, unknown][] => (k !== head ? [[k, v]] : dropKey && rest.length === 0 ? [] : [[k, replaceAt(v, rest, by, dropKey)]]));
    return Object.fromEntries(entries);
  }
  return value;
}

/** Structure-aware JSON mutation: one node of a seed value replaced by a hostile value or removed, serialised (deep nesting spliced in as text). */
export function mutatedJson(seeds: readonly unknown[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...seeds), at, hostileValue, fc.boolean(), fc.constantFrom(100, 10_000, 100_000))
    .map(([seed, where, by, drop, depth]) => {
      const all = paths(seed);
      const path = all[Math.min(Math.floor(where * all.length), all.length - 1)] ?? [];
      const text = JSON.stringify(replaceAt(seed, path, by, drop)) ?? 'null';
      return text.replace(JSON.stringify(DEEP), `${'['.repeat(depth)}${']'.repeat(depth)}`);
    });
}

/** JSON text: structure-aware mutations, text mutations of the seeds' serialisations, random text. */
export function hostileJsonText(seeds: readonly unknown[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 3, arbitrary: mutatedJson(seeds) }, { weight: 2, arbitrary: mutatedText(seeds.map((s) => JSON.stringify(s))) }, { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) });
}

/** A "billion laughs" prelude: `levels` anchors each aliasing the one before `width` times. */
export function aliasBomb(levels: number, width: number, key = 'lol'): string {
  const lines = [`${key}0: &${key}0 [${Array.from({ length: width }, () => '"lol"').join(', ')}]`];
  for (let l = 1; l < levels; l++) lines.push(`${key}${l}: &${key}${l} [${Array.from({ length: width }, () => `*${key}${l - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

/** YAML text: text mutations of the seeds, alias bombs before a seed or as a value, deep flow nesting, merge keys. */
export function hostileYaml(seeds: readonly string[]): fc.Arbitrary<string> {
  const seed = fc.constantFrom(...seeds);
  return fc.oneof(
    { weight: 6, arbitrary: mutatedText(seeds) },
    { weight: 1, arbitrary: fc.tuple(seed, fc.integer({ min: 2, max: 10 }), fc.integer({ min: 2, max: 10 })).map(([s, levels, width]) => aliasBomb(levels, width) + s) },
    {
      weight: 1,
      arbitrary: fc.tuple(seed, fc.integer({ min: 3, max: 9 })).map(([s, levels]) => `${aliasBomb(levels, 9, 'b')}${s.replace(/^(\s*)- /m, `$1- *b${levels - 1}\n$1- `)}`),
    },
    { weight: 1, arbitrary: fc.constantFrom(1000, 20_000).map((n) => `steps: ${'['.repeat(n)}${']'.repeat(n)}\n`) },
    { weight: 1, arbitrary: fc.constantFrom(100, 3000).map((n) => `steps:\n${Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}- `).join('\n')}x\n`) },
    { weight: 1, arbitrary: seed.map((s) => `base: &base { a: 1 }\nmerged:\n  <<: *base\n  <<: *base\n${s}`) },
  );
}
