import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtpError } from '../src/errors.js';
import { LineFramer, NdjsonDecoder, encodeNdjson } from '../src/framing.js';
import type { JsonFrameOutput, LineFramerOutput } from '../src/framing.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const FRAME_CODES = ['ATP_FRAME_TOO_LARGE', 'ATP_FRAME_INVALID_JSON', 'ATP_FRAME_INVALID_UTF8'];

function lines(out: LineFramerOutput[]): string[] {
  return out.map((o) => (o.kind === 'line' ? dec.decode(o.bytes) : `!${o.error.code}`));
}

function values(out: JsonFrameOutput[]): unknown[] {
  return out.map((o) => (o.kind === 'value' ? o.value : `!${o.error.code}`));
}

/** Feeds `data` to `push` cut at the given offsets. */
function feed<T>(push: (chunk: Uint8Array) => T[], data: Uint8Array, cuts: number[]): T[] {
  const points = [...new Set(cuts.map((c) => Math.min(c, data.length)))].sort((a, b) => a - b);
  const out: T[] = [];
  let start = 0;
  for (const p of [...points, data.length]) {
    out.push(...push(data.subarray(start, p)));
    start = p;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

describe('LineFramer', () => {
  it('splits several lines in one chunk and keeps a partial line for later', () => {
    const framer = new LineFramer();
    expect(lines(framer.push(bytes('a\nbb\ncc')))).toEqual(['a', 'bb']);
    expect(framer.buffered).toBe(2);
    expect(lines(framer.push(bytes('c\n')))).toEqual(['ccc']);
    expect(framer.buffered).toBe(0);
  });

  it('reassembles a line delivered one byte at a time', () => {
    const framer = new LineFramer();
    const data = bytes('hello world\n');
    const out = feed((c) => framer.push(c), data, [...data.keys()]);
    expect(lines(out)).toEqual(['hello world']);
  });

  it('strips the CR of CRLF and keeps empty lines as empty', () => {
    const framer = new LineFramer();
    expect(lines(framer.push(bytes('a\r\n\r\nb\n')))).toEqual(['a', '', 'b']);
  });

  it('accepts a line of exactly maxLineBytes, with or without CR', () => {
    const framer = new LineFramer({ maxLineBytes: 4 });
    expect(lines(framer.push(bytes('abcd\nabcd\r\n')))).toEqual(['abcd', 'abcd']);
  });

  it('drops an oversized line with exactly one error and decodes the next line', () => {
    const framer = new LineFramer({ maxLineBytes: 4 });
    expect(lines(framer.push(bytes('abcde\nok\n')))).toEqual(['!ATP_FRAME_TOO_LARGE', 'ok']);
    const long = bytes(`${'x'.repeat(50)}\nnext\n`);
    const out = feed((c) => framer.push(c), long, [1, 3, 7, 20, 21, 22, 49, 50]);
    expect(lines(out)).toEqual(['!ATP_FRAME_TOO_LARGE', 'next']);
    const err = out[0];
    expect(err?.kind === 'error' && err.error.details).toEqual({ maxBytes: 4 });
  });

  it('never buffers more than maxLineBytes + 1 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(400)), fc.integer({ min: 1, max: 40 }), (data, cuts, max) => {
        const framer = new LineFramer({ maxLineBytes: max });
        let peak = 0;
        feed((c) => {
          const out = framer.push(c);
          peak = Math.max(peak, framer.buffered);
          return out;
        }, data, cuts);
        expect(peak).toBeLessThanOrEqual(max + 1);
      }),
    );
  });

  it('reset forgets an unfinished line', () => {
    const framer = new LineFramer();
    framer.push(bytes('garbage'));
    framer.reset();
    expect(framer.buffered).toBe(0);
    expect(lines(framer.push(bytes('x\n')))).toEqual(['x']);
  });
});

describe('NdjsonDecoder', () => {
  it('decodes values across chunks and skips blank lines', () => {
    const d = new NdjsonDecoder();
    expect(values(d.push(bytes('{"a":1}\n\n  \n[1,')))).toEqual([{ a: 1 }]);
    expect(values(d.push(bytes('2]\r\n"s"\n')))).toEqual([[1, 2], 's']);
  });

  it('decodes a multi-byte character split between chunks', () => {
    const d = new NdjsonDecoder();
    const data = bytes('"h€llo 🎹"\n');
    expect(values(feed((c) => d.push(c), data, [2, 3, 8]))).toEqual(['h€llo 🎹']);
  });

  it('reports invalid JSON and invalid UTF-8 as typed errors and carries on', () => {
    const d = new NdjsonDecoder();
    const out = d.push(concat([bytes('{nope\n'), new Uint8Array([0x22, 0xff, 0xfe, 0x22, 0x0a]), bytes('{"ok":true}\n')]));
    expect(values(out)).toEqual(['!ATP_FRAME_INVALID_JSON', '!ATP_FRAME_INVALID_UTF8', { ok: true }]);
    for (const o of out) if (o.kind === 'error') expect(o.error).toBeInstanceOf(AtpError);
  });

  it('reports an oversized frame once and decodes the next', () => {
    const d = new NdjsonDecoder({ maxLineBytes: 16 });
    const out = d.push(bytes(`"${'x'.repeat(40)}"\n{"next":1}\n`));
    expect(values(out)).toEqual(['!ATP_FRAME_TOO_LARGE', { next: 1 }]);
  });

  it('property: any split of a valid stream yields exactly the same values', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 20 }), fc.array(fc.nat(5000)), (vals, cuts) => {
        const stream = concat(vals.map((v) => encodeNdjson(v)));
        const d = new NdjsonDecoder();
        const out = feed((c) => d.push(c), stream, cuts);
        expect(out.every((o) => o.kind === 'value')).toBe(true);
        expect(values(out)).toEqual(vals.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
      }),
    );
  });

  it('property: garbage never throws, yields only typed errors or values, and valid frames after a newline survive', () => {
    const max = 128;
    const frame = fc.jsonValue({ maxDepth: 2 }).filter((v) => encodeNdjson(v).length - 1 <= max);
    const segment = fc.oneof(
      fc.record({ garbage: fc.uint8Array({ maxLength: 300 }) }),
      fc.record({ value: frame }),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 15 }), fc.array(fc.nat(3000)), (segments, cuts) => {
        const parts: Uint8Array[] = [];
        const expected: unknown[] = [];
        for (const s of segments) {
          if ('garbage' in s) parts.push(s.garbage);
          else {
            parts.push(bytes('\n'), encodeNdjson(s.value, max));
            expected.push(JSON.parse(JSON.stringify(s.value)) as unknown);
          }
        }
        const d = new NdjsonDecoder({ maxLineBytes: max });
        let peak = 0;
        const out = feed((c) => {
          const r = d.push(c);
          peak = Math.max(peak, d.buffered);
          return r;
        }, concat(parts), cuts);
        expect(peak).toBeLessThanOrEqual(max + 1);
        for (const o of out) if (o.kind === 'error') expect(FRAME_CODES).toContain(o.error.code);
        // Every valid frame appears, in order, among the decoded values.
        let next = 0;
        for (const o of out) {
          if (next < expected.length && o.kind === 'value' && JSON.stringify(o.value) === JSON.stringify(expected[next])) next++;
        }
        expect(next).toBe(expected.length);
      }),
    );
  });
});

describe('encodeNdjson', () => {
  it('writes one line per value, escaping newlines inside strings', () => {
    const frame = encodeNdjson({ s: 'a\nb' });
    expect(dec.decode(frame)).toBe('{"s":"a\\nb"}\n');
  });

  it('refuses a frame over the limit with ATP_FRAME_TOO_LARGE', () => {
    expect(() => encodeNdjson('x'.repeat(10), 5)).toThrow(expect.objectContaining({ code: 'ATP_FRAME_TOO_LARGE' }));
    expect(encodeNdjson('abc', 5).length).toBe(6);
  });

  it('refuses values JSON cannot carry instead of writing a bogus frame', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    for (const v of [undefined, () => 1, 10n, cycle]) {
      expect(() => encodeNdjson(v)).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
    }
  });
});
