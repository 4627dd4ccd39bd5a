import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtpError } from '@atp/protocol';
import { QGA_DELIMITER, QgaDecoder, encodeCommand, encodeSyncDelimited, type QgaDecoded } from '../src/vm/qga/codec.js';
import { qgaCommandError } from '../src/vm/qga/errors.js';
import { decodeBase64 } from '../src/vm/qga/exec.js';
import { rechunk } from '../src/vm/qga/files.js';

const enc = new TextEncoder();
const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...enc.encode(p)] : p)));

function decodeAll(decoder: QgaDecoder, chunks: Uint8Array[]): QgaDecoded[] {
  return chunks.flatMap((c) => decoder.push(c));
}

function splitAt(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, data.length]) {
    out.push(data.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('QGA codec on bytes', () => {
  it('decodes the stray parse error, the delimiter and the sync reply exactly as qemu-ga 7.2 sends them', () => {
    const wire = bytes(`{"error": {"class": "GenericError", "desc": "JSON parse error, stray '\\uFFFD'"}}\n`, [0xff], '{"return": 42}\n');
    const events = new QgaDecoder().push(wire);
    expect(events.map((e) => e.kind)).toEqual(['reply', 'delimiter', 'reply']);
    expect(events[0]).toMatchObject({ reply: { kind: 'error', errorClass: 'GenericError' } });
    expect(events[2]).toEqual({ kind: 'reply', bytes: 15, reply: { kind: 'return', value: 42, id: undefined } });
  });

  it('keeps the echoed id', () => {
    const [event] = new QgaDecoder().push(bytes('{"return": {}, "id": "a-1"}\n'));
    expect(event).toMatchObject({ kind: 'reply', reply: { kind: 'return', value: {}, id: 'a-1' } });
  });

  it('drops a partial line cut by 0xFF and counts its bytes', () => {
    const events = new QgaDecoder().push(bytes('{"return": {"half', [0xff], '{"return": 1}\n'));
    expect(events.map((e) => e.kind)).toEqual(['discarded', 'delimiter', 'reply']);
    expect(events[0]).toMatchObject({ kind: 'discarded', bytes: 17 });
  });

  it('turns bad UTF-8, bad JSON and non-replies into typed discards and carries on', () => {
    const events = new QgaDecoder().push(bytes([0xc3, 0x28, 0x0a], 'not json\n', '{"foo": 1}\n', '[1]\n', '\n', '{"return": true}\n'));
    const codes = events.flatMap((e) => (e.kind === 'discarded' ? [e.reason.code] : []));
    expect(codes).toEqual(['ATP_FRAME_INVALID_UTF8', 'ATP_FRAME_INVALID_JSON', 'ATP_SCHEMA_INVALID', 'ATP_SCHEMA_INVALID']);
    expect(events.at(-1)).toMatchObject({ kind: 'reply', reply: { value: true } });
  });

  it('discards an oversized line up to its newline', () => {
    const decoder = new QgaDecoder({ maxLineBytes: 32 });
    const events = decoder.push(bytes(`{"return": "${'x'.repeat(100)}"}\n{"return": 2}\n`));
    expect(events.map((e) => e.kind)).toEqual(['discarded', 'reply']);
    expect(events[0]).toMatchObject({ reason: { code: 'ATP_FRAME_TOO_LARGE' } });
  });

  it('encodes commands and the 0xFF-prefixed sync request', () => {
    expect(new TextDecoder().decode(encodeCommand('guest-ping'))).toBe('{"execute":"guest-ping"}\n');
    expect(new TextDecoder().decode(encodeCommand('guest-exec', { path: '/bin/true' }, 'x-1'))).toBe(
      '{"execute":"guest-exec","arguments":{"path":"/bin/true"},"id":"x-1"}\n',
    );
    const sync = encodeSyncDelimited(7);
    expect(sync[0]).toBe(QGA_DELIMITER);
    expect(new TextDecoder().decode(sync.subarray(1))).toBe('{"execute":"guest-sync-delimited","arguments":{"id":7}}\n');
  });

  it('maps the error replies qemu-ga 7.2 sends to typed codes', () => {
    const cases: [string, string, string][] = [
      ['CommandNotFound', 'The command guest-nope has not been found', 'ATP_QGA_COMMAND_NOT_FOUND'],
      ['CommandNotFound', 'Command guest-get-time has been disabled', 'ATP_QGA_COMMAND_DISABLED'],
      ['GenericError', "Invalid parameter type for 'path', expected: string", 'ATP_QGA_INVALID_PARAMETER'],
      ['GenericError', "Parameter 'path' is missing", 'ATP_QGA_INVALID_PARAMETER'],
      ['GenericError', "Parameter 'x' is unexpected", 'ATP_QGA_INVALID_PARAMETER'],
      ['GenericError', "Invalid parameter 'pid'", 'ATP_QGA_INVALID_PARAMETER'],
      ['InvalidParameter', 'whatever', 'ATP_QGA_INVALID_PARAMETER'],
      ['GenericError', "failed to open file '/x' (mode: 'r'): No such file or directory", 'ATP_QGA_COMMAND'],
    ];
    for (const [cls, desc, code] of cases) {
      const error = qgaCommandError('cmd', cls, desc);
      expect(error.code, desc).toBe(code);
      expect(error.details).toMatchObject({ command: 'cmd', class: cls, desc });
    }
  });

  it('decodes strict base64 only', () => {
    expect([...decodeBase64('AP8=')]).toEqual([0, 255]);
    expect(decodeBase64(undefined)).toHaveLength(0);
    expect(() => decodeBase64('A*==')).toThrowError(AtpError);
    expect(() => decodeBase64('AP8')).toThrowError(/base64/);
  });
});

const replyArb = fc.oneof(
  fc.jsonValue().map((v) => ({ return: v })),
  fc.record({ class: fc.string(), desc: fc.string() }).map((e) => ({ error: e })),
);

describe('QGA codec properties', () => {
  it('gives the same replies however the stream is split', () => {
    fc.assert(
      fc.property(fc.array(replyArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (replies, cuts) => {
        const wire = enc.encode(replies.map((r) => `${JSON.stringify(r)}\n`).join(''));
        const whole = new QgaDecoder().push(wire);
        const split = decodeAll(new QgaDecoder(), splitAt(wire, cuts));
        expect(split).toEqual(whole);
        expect(whole.filter((e) => e.kind === 'reply')).toHaveLength(replies.length);
      }),
    );
  });

  it('always recovers a delimited sync reply after arbitrary garbage, never throws, reports only typed errors', () => {
    const garbageArb = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xff, 0x0a, 0x7b, 0x22)), { maxLength: 300 });
    fc.assert(
      fc.property(garbageArb, fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.array(fc.nat(), { maxLength: 10 }), fc.integer({ min: 8, max: 400 }), (garbage, id, cuts, max) => {
        const wire = bytes(garbage, [0xff], `{"return": ${id}}\n`);
        const events = decodeAll(new QgaDecoder({ maxLineBytes: Math.max(max, 24) }), splitAt(wire, cuts));
        expect(events.slice(-2)).toEqual([{ kind: 'delimiter' }, { kind: 'reply', bytes: `{"return": ${id}}\n`.length, reply: { kind: 'return', value: id, id: undefined } }]);
        for (const e of events) {
          if (e.kind === 'discarded') {
            expect(e.reason).toBeInstanceOf(AtpError);
            expect(['ATP_FRAME_INVALID_JSON', 'ATP_FRAME_INVALID_UTF8', 'ATP_FRAME_TOO_LARGE', 'ATP_SCHEMA_INVALID']).toContain(e.reason.code);
            expect(e.bytes).toBeGreaterThan(0);
          }
        }
        expect(events.filter((e) => e.kind === 'delimiter')).toHaveLength(garbage.filter((b) => b === 0xff).length + 1);
      }),
      { numRuns: 500 },
    );
  });

  it('re-chunks any byte source into exact chunks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 10 }), fc.integer({ min: 1, max: 40 }), async (pieces, size) => {
        async function* source(): AsyncGenerator<Uint8Array> {
          yield* pieces;
        }
        const chunks: Uint8Array[] = [];
        for await (const c of rechunk(source(), size)) chunks.push(c);
        const flat = pieces.flatMap((p) => [...p]);
        expect(chunks.flatMap((c) => [...c])).toEqual(flat);
        expect(chunks.slice(0, -1).every((c) => c.length === size)).toBe(true);
        expect(chunks.every((c) => c.length > 0)).toBe(true);
      }),
    );
  });
});
