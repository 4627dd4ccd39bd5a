import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import { encodeQmpCommand, QmpDecoder, type QmpDecoded } from '../src/vm/qmp/index.js';

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
// Captured from qemu-system-x86_64 7.2 on this machine.
const GREETING = '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}\r\n';
const RESET = '{"timestamp": {"seconds": 1795812147, "microseconds": 454454}, "event": "RESET", "data": {"guest": false, "reason": "host-qmp-system-reset"}}\r\n';

function messages(items: QmpDecoded[]): unknown[] {
  return items.map((i) => (i.kind === 'message' ? i.message : { error: i.error.code, reason: i.error.details.reason }));
}

describe('QmpDecoder', () => {
  it('decodes a real greeting, replies and events, several per chunk', () => {
    const d = new QmpDecoder();
    const out = d.push(
      bytes(
        GREETING +
          '{"return": {}}\r\n' +
          '{"return": {"status": "running", "singlestep": false, "running": true}, "id": 1}\r\n' +
          '{"id": 2, "error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}}\r\n' +
          RESET +
          '{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}\r\n',
      ),
    );
    expect(messages(out)).toEqual([
      { kind: 'greeting', version: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' }, capabilities: ['oob'] },
      { kind: 'return', value: {}, id: undefined },
      { kind: 'return', value: { status: 'running', singlestep: false, running: true }, id: 1 },
      { kind: 'error', errorClass: 'CommandNotFound', desc: 'The command nope has not been found', id: 2 },
      { kind: 'event', event: 'RESET', data: { guest: false, reason: 'host-qmp-system-reset' }, timestamp: { seconds: 1795812147, microseconds: 454454 } },
      { kind: 'event', event: 'STOP', data: {}, timestamp: { seconds: 1, microseconds: 2 } },
    ]);
  });

  it('joins partial lines across chunks, byte by byte', () => {
    const d = new QmpDecoder();
    const all = bytes(GREETING + RESET);
    const out: QmpDecoded[] = [];
    for (const b of all) out.push(...d.push(Uint8Array.of(b)));
    expect(out.map((o) => (o.kind === 'message' ? o.message.kind : 'error'))).toEqual(['greeting', 'event']);
    expect(d.buffered).toBe(0);
  });

  it('reports non-QMP values as ATP_QMP_PROTOCOL and carries on', () => {
    const d = new QmpDecoder();
    const out = d.push(
      bytes('[1,2]\r\n42\r\n{"hello": 1}\r\n{"QMP": {"version": 1}}\r\n{"event": "X"}\r\n{"error": {"class": 1}}\r\nnot json\r\n{"return": 5, "id": 3}\r\n'),
    );
    expect(messages(out)).toEqual([
      ...Array.from({ length: 6 }, () => ({ error: 'ATP_QMP_PROTOCOL', reason: expect.any(String) as unknown })),
      { error: 'ATP_QMP_PROTOCOL', reason: 'ATP_FRAME_INVALID_JSON' },
      { kind: 'return', value: 5, id: 3 },
    ]);
  });

  it('turns an oversize line into one ATP_QMP_PROTOCOL (ATP_FRAME_TOO_LARGE) and decodes the next line', () => {
    const d = new QmpDecoder({ maxLineBytes: 64 });
    const big = `{"return": "${'x'.repeat(200)}", "id": 1}\r\n`;
    const out = [...d.push(bytes(big.slice(0, 100))), ...d.push(bytes(big.slice(100) + '{"return": {}, "id": 2}\r\n'))];
    expect(messages(out)).toEqual([
      { error: 'ATP_QMP_PROTOCOL', reason: 'ATP_FRAME_TOO_LARGE' },
      { kind: 'return', value: {}, id: 2 },
    ]);
  });

  it('reports invalid UTF-8 as ATP_QMP_PROTOCOL (ATP_FRAME_INVALID_UTF8)', () => {
    const out = new QmpDecoder().push(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d, 0x0a));
    expect(messages(out)).toEqual([{ error: 'ATP_QMP_PROTOCOL', reason: 'ATP_FRAME_INVALID_UTF8' }]);
  });
});

describe('encodeQmpCommand', () => {
  const text = (u: Uint8Array): string => new TextDecoder().decode(u);
  it('encodes execute with arguments and id, one line', () => {
    const out = text(encodeQmpCommand({ command: 'send-key', arguments: { keys: [{ type: 'qcode', data: 'a' }], 'hold-time': 50 }, id: 7 }));
    expect(out.endsWith('\n')).toBe(true);
    expect(out.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(out)).toEqual({ execute: 'send-key', arguments: { keys: [{ type: 'qcode', data: 'a' }], 'hold-time': 50 }, id: 7 });
  });
  it('encodes exec-oob and omits absent arguments and id', () => {
    expect(JSON.parse(text(encodeQmpCommand({ command: 'query-yank', oob: true, id: 'x' })))).toEqual({ 'exec-oob': 'query-yank', id: 'x' });
    expect(JSON.parse(text(encodeQmpCommand({ command: 'query-status' })))).toEqual({ execute: 'query-status' });
  });
  it('refuses a command larger than the limit with ATP_FRAME_TOO_LARGE', () => {
    expect(() => encodeQmpCommand({ command: 'x', arguments: { s: 'y'.repeat(100) } }, 50)).toThrow(expect.objectContaining({ code: 'ATP_FRAME_TOO_LARGE' }));
  });
});

const jsonValue = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const qmpLine = fc.oneof(
  fc.record({ return: jsonValue, id: fc.nat() }),
  fc.record({ error: fc.record({ class: fc.string(), desc: fc.string() }), id: fc.nat() }),
  fc.record({
    event: fc.string({ minLength: 1 }),
    data: fc.dictionary(fc.string(), jsonValue),
    timestamp: fc.record({ seconds: fc.nat(), microseconds: fc.nat({ max: 999_999 }) }),
  }),
);

function split(all: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, all.length]) {
    chunks.push(all.subarray(start, p));
    start = p;
  }
  return chunks;
}

describe('QmpDecoder properties', () => {
  it('decodes valid traffic identically however it is split', () => {
    fc.assert(
      fc.property(fc.array(qmpLine, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (lines, cuts) => {
        const all = bytes(GREETING + lines.map((l) => `${JSON.stringify(l)}\r\n`).join(''));
        const whole = new QmpDecoder().push(all);
        const d = new QmpDecoder();
        const pieces = split(all, cuts).flatMap((c) => d.push(c));
        expect(messages(pieces)).toEqual(messages(whole));
        expect(whole.every((w) => w.kind === 'message')).toBe(true);
        expect(whole).toHaveLength(lines.length + 1);
      }),
    );
  });

  it('never throws on garbage and yields only messages or typed ATP_QMP_PROTOCOL errors', () => {
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.oneof(fc.string(), fc.constantFrom('\n', '\r\n', '{', '}', '"return"', ':', '{"event":')), { maxLength: 60 }).map((a) => bytes(a.join(''))),
    );
    fc.assert(
      fc.property(fc.array(garbage, { maxLength: 10 }), (chunks) => {
        const d = new QmpDecoder({ maxLineBytes: 128 });
        for (const c of chunks) {
          for (const item of d.push(c)) {
            if (item.kind === 'error') expect(isAtpError(item.error, 'ATP_QMP_PROTOCOL')).toBe(true);
            else expect(['greeting', 'return', 'error', 'event']).toContain(item.message.kind);
          }
          expect(d.buffered).toBeLessThanOrEqual(129);
        }
      }),
    );
  });
});
