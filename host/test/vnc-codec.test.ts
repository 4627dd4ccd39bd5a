import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAtpError } from '@atp/protocol';
import {
  decodeChallenge,
  decodeClientInit,
  decodeProtocolVersion,
  decodeSecurityChoice,
  decodeSecurityResult,
  decodeSecurityTypes,
  decodeServerInit,
  encodeClientInit,
  encodeProtocolVersion,
  encodeSecurityChoice,
  encodeSecurityResult,
  encodeSecurityTypes,
  encodeServerInit,
  vncAuthKey,
  vncAuthResponse,
  type PixelFormat,
} from '../src/display/vnc/handshake-codec.js';
import {
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  ENCODING,
  ServerMessageDecoder,
  type ClientMessage,
  type ServerMessage,
} from '../src/display/vnc/messages-codec.js';
import { requireWhole, type Decoded } from '../src/display/vnc/wire-codec.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// Captured from qemu-system-x86_64 7.2 (-vnc unix:..., -vga std, no guest) on this machine.
const QEMU_VERSION = hex('524642203030332e3030380a');
const QEMU_SECURITY_TYPES = hex('0101');
const QEMU_SECURITY_OK = hex('00000000');
const QEMU_SERVER_INIT = hex('02d00190 20180001 00ff00ff 00ff1008 00000000 00000004 51454d55');
const QEMU_EXT_KEY_ACK_AND_LEDS = hex('0000 0001 0000 0000 02d0 0190 fffffefe  0000 0001 0000 0000 0001 0001 fffffefb 00');

function value<T>(d: Decoded<T>): T {
  if (d.kind !== 'value') throw new Error(`expected a value, got ${JSON.stringify(d)}`);
  return d.value;
}

/** Every strict prefix of a message decodes as `more`, never as a value or a crash. */
function expectPrefixesNeedMore<T>(bytes: Uint8Array, decode: (b: Uint8Array) => Decoded<T>): void {
  for (let n = 0; n < bytes.byteLength; n++) expect(decode(bytes.subarray(0, n)).kind, `prefix of ${n} bytes`).toBe('more');
}

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const s32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const text = fc.string({ maxLength: 40 });
const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const pixelFormat: fc.Arbitrary<PixelFormat> = fc.record({
  bitsPerPixel: fc.constantFrom(8, 16, 32),
  depth: u8,
  bigEndian: fc.boolean(),
  trueColour: fc.boolean(),
  redMax: u16,
  greenMax: u16,
  blueMax: u16,
  redShift: u8,
  greenShift: u8,
  blueShift: u8,
});

describe('RFB handshake codec', () => {
  it('decodes the handshake QEMU 7.2 sends', () => {
    expect(value(decodeProtocolVersion(QEMU_VERSION))).toEqual({ major: 3, minor: 8 });
    expect(value(decodeSecurityTypes(QEMU_SECURITY_TYPES))).toEqual({ kind: 'types', types: [1] });
    expect(value(decodeSecurityResult(QEMU_SECURITY_OK))).toEqual({ ok: true });
    // A wrong password: QEMU counts the reason's terminating NUL in its length.
    expect(value(decodeSecurityResult(hex('00000001 00000016 41757468656e7469636174696f6e206661696c656400')))).toEqual({ ok: false, status: 1, reason: 'Authentication failed' });
    expect(value(decodeServerInit(QEMU_SERVER_INIT))).toEqual({
      width: 720,
      height: 400,
      pixelFormat: { bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0 },
      name: 'QEMU',
    });
    expect(toHex(encodeProtocolVersion({ major: 3, minor: 8 }))).toBe(toHex(QEMU_VERSION));
  });

  it('round-trips every handshake message, and every strict prefix needs more', () => {
    const cases: fc.Arbitrary<[Uint8Array, (b: Uint8Array) => Decoded<unknown>, unknown]>[] = [
      fc.record({ major: fc.integer({ min: 0, max: 999 }), minor: fc.integer({ min: 0, max: 999 }) }).map((v) => [encodeProtocolVersion(v), decodeProtocolVersion, v]),
      fc.oneof(
        fc.array(u8, { minLength: 1, maxLength: 255 }).map((types) => ({ kind: 'types' as const, types })),
        text.map((reason) => ({ kind: 'failed' as const, reason })),
      ).map((v) => [encodeSecurityTypes(v), decodeSecurityTypes, v]),
      u8.map((v) => [encodeSecurityChoice(v), decodeSecurityChoice, v]),
      fc.oneof(fc.constant({ ok: true as const }), fc.record({ ok: fc.constant(false as const), status: fc.integer({ min: 1, max: 0xffffffff }), reason: text })).map((v) => [encodeSecurityResult(v), decodeSecurityResult, v]),
      fc.boolean().map((shared) => [encodeClientInit(shared), decodeClientInit, { shared }]),
      fc.record({ width: u16, height: u16, pixelFormat, name: text }).map((v) => [encodeServerInit(v), decodeServerInit, v]),
    ];
    fc.assert(
      fc.property(fc.oneof(...cases), ([bytes, decode, expected]) => {
        const d = decode(bytes);
        expect(d).toEqual({ kind: 'value', value: expected, size: bytes.byteLength });
        expectPrefixesNeedMore(bytes, decode);
      }),
    );
  });

  it('names what is wrong in malformed handshake messages', () => {
    const err = (d: Decoded<unknown>): string => (d.kind === 'error' && isAtpError(d.error, 'ATP_VNC_PROTOCOL') ? d.error.message : `not an error: ${d.kind}`);
    expect(err(decodeProtocolVersion(new TextEncoder().encode('HTTP/1.1 400')))).toMatch(/ProtocolVersion is not "RFB xxx.yyy\\n": "HTTP\/1.1 400"/);
    expect(err(decodeServerInit(hex('02d00190 18180001 00ff00ff 00ff1008 00000000 00000004 51454d55')))).toMatch(/bits-per-pixel must be 8, 16 or 32, got 24/);
    expect(err(decodeServerInit(hex('02d00190 20180001 00ff00ff 00ff1008 00000000 7fffffff')))).toMatch(/desktop name is 2147483647 bytes/);
    expect(err(decodeSecurityResult(hex('00000001 ffffffff')))).toMatch(/SecurityResult failure reason is 4294967295 bytes/);
    expect(() => requireWhole(decodeServerInit(QEMU_SERVER_INIT.subarray(0, 10)), 'ServerInit', 10)).toThrow(/truncated ServerInit: needs at least 12 bytes, got 10/);
  });

  it('computes the VNC authentication response with DES and bit-reversed key bytes', () => {
    // Bit reversal: 'p' = 0x70 = 01110000 -> 00001110 = 0x0e; short passwords are zero-padded, long ones cut at 8 bytes.
    expect(toHex(vncAuthKey('p'))).toBe('0e00000000000000');
    expect(toHex(vncAuthKey('password-longer'))).toBe(toHex(vncAuthKey('password')));
    // A published DES test vector: key 133457799BBCDFF1, plaintext 0123456789ABCDEF -> 85E813540F0AB405.
    // DES ignores each key byte's lowest bit, so the key is also 123456789ABCDEF0, whose bytes bit-reversed
    // are this ASCII password (bit reversal is the VNC quirk under test).
    const password = 'H,j\x1eY={\x0f';
    expect(toHex(vncAuthKey(password))).toBe('123456789abcdef0');
    expect(toHex(vncAuthResponse(hex('0123456789abcdef0123456789abcdef'), password))).toBe('85e813540f0ab40585e813540f0ab405');
    // The two challenge halves are enciphered independently (ECB) and the output depends on the password.
    const challenge = hex('000102030405060708090a0b0c0d0e0f');
    const a = vncAuthResponse(challenge, 'secret');
    expect(a.byteLength).toBe(16);
    expect(toHex(a)).not.toBe(toHex(vncAuthResponse(challenge, 'secreT')));
    expect(value(decodeChallenge(challenge))).toEqual(challenge);
  });
});

const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.array(s32, { maxLength: 20 }).map((encodings) => ({ type: 'setEncodings' as const, encodings })),
  fc.record({ type: fc.constant('framebufferUpdateRequest' as const), incremental: fc.boolean(), x: u16, y: u16, width: u16, height: u16 }),
  fc.record({ type: fc.constant('keyEvent' as const), down: fc.boolean(), keysym: u32 }),
  fc.record({ type: fc.constant('pointerEvent' as const), buttonMask: u8, x: u16, y: u16 }),
  fc.record({ type: fc.constant('qemuExtendedKeyEvent' as const), down: fc.boolean(), keysym: u32, keycode: u32 }),
);

const BPP = { bytesPerPixel: 4 };
const small = fc.integer({ min: 0, max: 6 });
const rect = fc.oneof(
  fc.record({ x: u16, y: u16, width: small, height: small, encoding: fc.constant(ENCODING.raw) }).chain((r) =>
    fc.uint8Array({ minLength: r.width * r.height * 4, maxLength: r.width * r.height * 4 }).map((pixels) => ({ ...r, pixels })),
  ),
  fc.record({ x: u16, y: u16, width: u16, height: u16, encoding: fc.constant(ENCODING.zrle), pixels: fc.uint8Array({ maxLength: 30 }) }),
  fc.record({ x: u16, y: u16, width: u16, height: u16, encoding: fc.constantFrom(ENCODING.desktopSize, ENCODING.qemuExtendedKeyEvent, ENCODING.pointerTypeChange) }),
  fc.record({ x: u16, y: u16, width: u16, height: u16, encoding: fc.constant(ENCODING.ledState), leds: u8 }),
  fc.record({
    x: u16,
    y: u16,
    width: u16,
    height: u16,
    encoding: fc.constant(ENCODING.extendedDesktopSize),
    screens: fc.array(fc.record({ id: u32, x: u16, y: u16, width: u16, height: u16, flags: u32 }), { maxLength: 3 }),
  }),
);
const serverMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.array(rect, { maxLength: 4 }).map((rects) => ({ type: 'framebufferUpdate' as const, rects })),
  fc.record({ type: fc.constant('setColourMapEntries' as const), firstColour: u16, colours: fc.array(fc.record({ red: u16, green: u16, blue: u16 }), { maxLength: 5 }) }),
  fc.constant({ type: 'bell' as const }),
  latin1.map((t) => ({ type: 'serverCutText' as const, text: t })),
);

describe('RFB message codec', () => {
  it('round-trips every client message, and every strict prefix needs more', () => {
    fc.assert(
      fc.property(clientMessage, (m) => {
        const bytes = encodeClientMessage(m);
        expect(decodeClientMessage(bytes)).toEqual({ kind: 'value', value: m, size: bytes.byteLength });
        expectPrefixesNeedMore(bytes, decodeClientMessage);
      }),
    );
  });

  it('encodes the QEMU extended key event as type 255, subtype 0, down, keysym, E0-folded keycode', () => {
    expect(toHex(encodeClientMessage({ type: 'qemuExtendedKeyEvent', down: true, keysym: 0xff53, keycode: 0xcd }))).toBe('ff000001' + '0000ff53' + '000000cd');
    expect(toHex(encodeClientMessage({ type: 'pointerEvent', buttonMask: 5, x: 720, y: 1 }))).toBe('050502d00001');
  });

  it('round-trips every server message, whole and split into random chunks', () => {
    fc.assert(
      fc.property(fc.array(serverMessage, { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), (messages, cuts) => {
        const stream = Buffer.concat(messages.map((m) => encodeServerMessage(m, BPP)));
        for (const m of messages) {
          const bytes = encodeServerMessage(m, BPP);
          expect(decodeServerMessage(bytes, BPP)).toEqual({ kind: 'value', value: m, size: bytes.byteLength });
        }
        const decoder = new ServerMessageDecoder(BPP);
        const got: unknown[] = [];
        let at = 0;
        for (let i = 0; at < stream.byteLength; i++) {
          const n = cuts[i % cuts.length] ?? 1;
          for (const item of decoder.push(new Uint8Array(stream.subarray(at, at + n)))) got.push(item.kind === 'message' ? item.message : item.error);
          at += n;
        }
        expect(got).toEqual(messages);
        expect(decoder.buffered).toBe(0);
      }),
    );
  });

  it('calls any strict prefix of a server message, taken as the whole message, truncated (ATP_VNC_PROTOCOL)', () => {
    fc.assert(
      fc.property(serverMessage, fc.double({ min: 0, max: 1, noNaN: true }), (m, at) => {
        const bytes = encodeServerMessage(m, BPP);
        const cut = Math.min(bytes.byteLength - 1, Math.floor(at * bytes.byteLength));
        const prefix = bytes.subarray(0, cut);
        let error: unknown;
        try {
          requireWhole(decodeServerMessage(prefix, BPP), m.type, cut);
        } catch (e) {
          error = e;
        }
        expect(isAtpError(error, 'ATP_VNC_PROTOCOL') && error.message).toMatch(new RegExp(`^truncated ${m.type}: needs at least \\d+ bytes, got ${cut}$`));
      }),
    );
  });

  it('decodes what QEMU 7.2 sends after SetEncodings: the extended key event ack and the LED state', () => {
    const out = new ServerMessageDecoder(BPP).push(QEMU_EXT_KEY_ACK_AND_LEDS);
    expect(out).toEqual([
      { kind: 'message', message: { type: 'framebufferUpdate', rects: [{ x: 0, y: 0, width: 720, height: 400, encoding: -258 }] } },
      { kind: 'message', message: { type: 'framebufferUpdate', rects: [{ x: 0, y: 0, width: 1, height: 1, encoding: -261, leds: 0 }] } },
    ]);
  });

  it('gives ATP_VNC_PROTOCOL saying what was wrong, and stops decoding after it', () => {
    const cases: [string, RegExp][] = [
      ['07', /server message type 7 is not one/],
      ['ff00', /server message type 255/],
      ['0000 0001 0000 0000 0001 0001 00000005', /rectangle 0 has encoding 5, which this client did not announce/],
      ['0000 0002 0000 0000 0000 0000 ffffff21 0000 0000 0001 0001 ffffffef', /rectangle 1 has encoding -17/],
      ['0000 0001 0000 0000 ffff ffff 00000000', /Raw 65535x65535\) is 17179344900 bytes/],
      ['0000 0001 0000 0000 0001 0001 00000010 7fffffff', /ZRLE\) claims 2147483647 bytes/],
      ['03000000 ffffffff', /ServerCutText is 4294967295 bytes/],
    ];
    for (const [bytes, message] of cases) {
      const decoder = new ServerMessageDecoder(BPP);
      const out = decoder.push(hex(bytes));
      expect(out).toHaveLength(1);
      const item = out[0];
      expect(item?.kind === 'error' && isAtpError(item.error, 'ATP_VNC_PROTOCOL') ? item.error.message : item).toMatch(message);
      expect(decoder.push(hex('02'))).toEqual([]);
    }
  });

  it('treats any byte soup without crashing: values, more, or typed errors only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        for (const d of [decodeServerMessage(bytes, BPP), decodeServerInit(bytes), decodeSecurityTypes(bytes), decodeSecurityResult(bytes), decodeProtocolVersion(bytes)]) {
          expect(['value', 'more', 'error']).toContain(d.kind);
          if (d.kind === 'error') expect(d.error.code).toBe('ATP_VNC_PROTOCOL');
        }
      }),
    );
  });
});
