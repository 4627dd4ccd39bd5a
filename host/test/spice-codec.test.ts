/**
 * The SPICE codecs on bytes: every message this client encodes or decodes
 * round-trips, captured QEMU 7.2 bytes decode, and malformed or truncated
 * server messages give ATP_SPICE_PROTOCOL naming what was wrong (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allKeys } from '@atp/protocol';
import type { Decoded } from '../src/display/spice/bytes.js';
import { encodeFrame, FrameDecoder, type HeaderKind, type SpiceFrame } from '../src/display/spice/codec.js';
import { decodeDisplayClientMessage, decodeDisplayServerMessage, encodeDisplayClientMessage, encodeDisplayServerMessage, type DisplayClientMessage, type DisplayServerMessage } from '../src/display/spice/display-codec.js';
import {
  decodeInputsClientMessage,
  decodeInputsServerMessage,
  encodeInputsClientMessage,
  encodeInputsServerMessage,
  keyCodeBytes,
  scancodeToKeyCode,
  spiceSendableScancode,
  type InputsClientMessage,
  type InputsServerMessage,
} from '../src/display/spice/inputs-codec.js';
import { capsWords, decodeLinkHeader, decodeLinkMess, decodeLinkReply, decodeLinkResult, encodeLinkMess, encodeLinkReply, encodeLinkResult, hasCap, LINK_HEADER_BYTES } from '../src/display/spice/link-codec.js';
import { decodeMainClientMessage, decodeMainServerMessage, encodeMainClientMessage, encodeMainServerMessage, type MainClientMessage, type MainServerMessage } from '../src/display/spice/main-codec.js';
import { spiceBaseClient, spiceBaseServer, spiceDisplayClient, spiceDisplayServer, spiceInputsClient, spiceInputsServer, spiceMainClient, spiceMainServer } from './spice-arbitraries.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
// Captured from QEMU 7.2 (spice-server 0.15.1): the main channel's link reply and its first message.
const LINK_REPLY =
  '524544510200000002000000ba0000000000000030819f300d06092a864886f70d010101050003818d0030818902818100af6765ab3a937c32423ede8b65af4e32d30bdd2156cf7de0dd704bdf40859cfcfccb8ac7713dd3386af3a9cf2672b79c2f6898eb2eacdfe147eddb984178fa70bc675674f5424d6b4060fd1b3da7a98b9d0fee98d08c4e897be287dc200e174df11fc1abc800aa75b95080c9d923aca512b1a714e6b8f164c4abebb1896e8b6102030100010100000001000000b20000000b0000000f000000';
const MAIN_INIT = '6700200000008544f6da010000000100000001000000000000000a0000008bebec0100000001';

function value<T>(d: Decoded<T>): T {
  if (!d.ok) throw d.error;
  return d.value;
}
function failure<T>(d: Decoded<T>): { code: string; message: string } {
  expect(d.ok).toBe(false);
  return d.ok ? { code: '', message: '' } : { code: d.error.code, message: d.error.message };
}

type Codec<M> = { encode: (m: M) => SpiceFrame; decode: (type: number, body: Uint8Array) => Decoded<M> };
const CODECS = {
  mainServer: { encode: encodeMainServerMessage, decode: decodeMainServerMessage, arb: spiceMainServer } as Codec<MainServerMessage> & { arb: fc.Arbitrary<MainServerMessage> },
  mainClient: { encode: encodeMainClientMessage, decode: decodeMainClientMessage, arb: spiceMainClient } as Codec<MainClientMessage> & { arb: fc.Arbitrary<MainClientMessage> },
  inputsServer: { encode: encodeInputsServerMessage, decode: decodeInputsServerMessage, arb: spiceInputsServer } as Codec<InputsServerMessage> & { arb: fc.Arbitrary<InputsServerMessage> },
  inputsClient: { encode: encodeInputsClientMessage, decode: decodeInputsClientMessage, arb: spiceInputsClient } as Codec<InputsClientMessage> & { arb: fc.Arbitrary<InputsClientMessage> },
  displayServer: { encode: encodeDisplayServerMessage, decode: decodeDisplayServerMessage, arb: spiceDisplayServer } as Codec<DisplayServerMessage> & { arb: fc.Arbitrary<DisplayServerMessage> },
  displayClient: { encode: encodeDisplayClientMessage, decode: decodeDisplayClientMessage, arb: spiceDisplayClient } as Codec<DisplayClientMessage> & { arb: fc.Arbitrary<DisplayClientMessage> },
};

describe('link stage', () => {
  it('decodes the link reply QEMU sent, with its RSA key and capabilities', () => {
    const bytes = hex(LINK_REPLY);
    const header = value(decodeLinkHeader(bytes.subarray(0, LINK_HEADER_BYTES)));
    expect(header).toEqual({ major: 2, minor: 2, size: bytes.byteLength - LINK_HEADER_BYTES });
    const reply = value(decodeLinkReply(bytes.subarray(LINK_HEADER_BYTES)));
    expect(reply.error).toBe(0);
    expect(reply.publicKey.byteLength).toBe(162);
    expect([0, 1, 3].map((bit) => hasCap(reply.commonCaps, bit))).toEqual([true, true, true]);
    expect(reply.channelCaps).toEqual([0x0f]);
    expect(encodeLinkReply(reply)).toEqual(bytes);
  });

  it('round-trips link messages and replies with any capabilities', () => {
    const caps = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 6 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 0, max: 255 }), caps, caps, (connectionId, channelType, channelId, commonCaps, channelCaps) => {
        const bytes = encodeLinkMess({ connectionId, channelType, channelId, commonCaps, channelCaps });
        const header = value(decodeLinkHeader(bytes.subarray(0, 16)));
        expect(header.size).toBe(bytes.byteLength - 16);
        expect(value(decodeLinkMess(bytes.subarray(16)))).toEqual({ connectionId, channelType, channelId, commonCaps, channelCaps });
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 }), fc.uint8Array({ minLength: 162, maxLength: 162 }), caps, caps, (error, publicKey, commonCaps, channelCaps) => {
        const bytes = encodeLinkReply({ error, publicKey, commonCaps, channelCaps });
        expect(value(decodeLinkReply(bytes.subarray(16)))).toEqual({ error, publicKey, commonCaps, channelCaps });
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (code) => {
        expect(value(decodeLinkResult(encodeLinkResult(code)))).toBe(code);
      }),
    );
  });

  it('capability words hold exactly the bits set', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 95 }), { maxLength: 12 }), (bits) => {
        const words = capsWords(bits);
        for (let bit = 0; bit < 96; bit++) expect(hasCap(words, bit)).toBe(bits.includes(bit));
      }),
    );
  });

  it('refuses a wrong magic, another major version and absurd sizes, naming the field', () => {
    const good = hex(LINK_REPLY).subarray(0, 16);
    const rfb = new TextEncoder().encode('RFB 003.008\n\0\0\0\0');
    expect(failure(decodeLinkHeader(rfb)).message).toMatch(/not a SPICE server.*REDQ/);
    const v1 = good.slice();
    v1[4] = 1;
    expect(failure(decodeLinkHeader(v1)).message).toMatch(/protocol 1\.2/);
    const huge = good.slice();
    huge.set([0, 0, 1, 0], 12);
    expect(failure(decodeLinkHeader(huge)).message).toMatch(/size 65536 is outside/);
    expect(failure(decodeLinkHeader(good.subarray(0, 10))).message).toMatch(/link header is truncated: minor_version needs 4 bytes at offset 8, 2 left/);
  });

  it('gives ATP_SPICE_PROTOCOL for every truncated accepted reply, and caps offsets outside the message', () => {
    const body = hex(LINK_REPLY).subarray(16);
    for (let cut = 0; cut < body.byteLength; cut++) expect(failure(decodeLinkReply(body.subarray(0, cut))).code).toBe('ATP_SPICE_PROTOCOL');
    const inside = body.slice();
    inside.set([4, 0, 0, 0], 174); // caps_offset into the key
    expect(failure(decodeLinkReply(inside)).message).toMatch(/caps_offset 4 points into its fixed part/);
    const outside = body.slice();
    outside.set([0, 1, 0, 0], 174);
    expect(failure(decodeLinkReply(outside)).message).toMatch(/caps_offset 256 points outside/);
  });

  it('reads a refusal that carries only its error code', () => {
    expect(value(decodeLinkReply(encodeLinkResult(7)))).toEqual({ error: 7, publicKey: new Uint8Array(0), commonCaps: [], channelCaps: [] });
  });
});

describe('framing', () => {
  const frames = fc.array(fc.record({ type: fc.integer({ min: 0, max: 0xffff }), body: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 8 });

  it.each(['mini', 'full'] as HeaderKind[])('%s headers: frames survive any split of the byte stream', (header) => {
    fc.assert(
      fc.property(frames, fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 50 }), (list, cuts) => {
        const stream = Buffer.concat(list.map((f, i) => encodeFrame(header, f.type, f.body, BigInt(i + 1))));
        const decoder = new FrameDecoder(header);
        const out: SpiceFrame[] = [];
        let at = 0;
        for (let i = 0; at < stream.byteLength; i++) {
          const size = cuts[i % cuts.length] ?? 1;
          for (const item of decoder.push(new Uint8Array(stream.subarray(at, at + size)))) if (item.kind === 'frame') out.push(item.frame);
          at += size;
        }
        expect(out.map((f) => ({ type: f.type, body: Array.from(f.body) }))).toEqual(list.map((f) => ({ type: f.type, body: Array.from(f.body) })));
        expect(decoder.pending).toBe(0);
      }),
    );
  });

  it('reports an oversized frame once, then yields nothing', () => {
    const decoder = new FrameDecoder('mini', 100);
    const items = decoder.push(encodeFrame('mini', 7, new Uint8Array(101)));
    expect(items).toHaveLength(1);
    expect(items[0]?.kind === 'error' && items[0].error.message).toMatch(/type 7 announces 101 bytes, above the 100-byte limit/);
    expect(decoder.push(encodeFrame('mini', 7, new Uint8Array(1)))).toEqual([]);
  });

  it('decodes the main INIT QEMU sent', () => {
    const items = new FrameDecoder('mini').push(hex(MAIN_INIT));
    const frame = items[0]?.kind === 'frame' ? items[0].frame : undefined;
    expect(frame?.type).toBe(103);
    expect(value(decodeMainServerMessage(103, frame?.body ?? new Uint8Array()))).toEqual({
      kind: 'init', sessionId: 0xdaf64485, displayChannelsHint: 1, supportedMouseModes: 1, currentMouseMode: 1, agentConnected: 0, agentTokens: 10, multiMediaTime: 0x01eceb8b, ramHint: 0x01000000,
    });
  });
});

describe('channel messages', () => {
  it.each(Object.keys(CODECS) as (keyof typeof CODECS)[])('%s: every message round-trips on bytes', (name) => {
    const codec = CODECS[name] as Codec<unknown> & { arb: fc.Arbitrary<unknown> };
    fc.assert(
      fc.property(codec.arb, (m) => {
        const frame = codec.encode(m);
        expect(value(codec.decode(frame.type, frame.body))).toEqual(m);
      }),
    );
  });

  it.each(['mainServer', 'inputsServer', 'displayServer'] as const)('%s: any cut of a fixed-size message is ATP_SPICE_PROTOCOL naming the message and field', (name) => {
    const codec = CODECS[name] as Codec<unknown> & { arb: fc.Arbitrary<unknown> };
    fc.assert(
      fc.property(codec.arb.filter((m) => (m as { kind: string }).kind !== 'other'), fc.nat(), (m, n) => {
        // A PING's data and a NOTIFY's closing NUL are optional tails: cut only the fields before them.
        const kind = (m as { kind: string }).kind;
        const message = kind === 'ping' ? { ...(m as object), data: new Uint8Array(0) } : m;
        const frame = codec.encode(message);
        const required = frame.body.byteLength - (kind === 'notify' ? 1 : 0);
        if (required === 0) return;
        const f = failure(codec.decode(frame.type, frame.body.subarray(0, n % required)));
        expect(f.code).toBe('ATP_SPICE_PROTOCOL');
        expect(f.message).toMatch(/SPICE .+ (is truncated: \S+ needs \d+ bytes at offset \d+|announces \d+ channels in \d+ bytes)/);
      }),
    );
  });

  it('base messages round-trip on every channel', () => {
    fc.assert(
      fc.property(spiceBaseServer, spiceBaseClient, (server, client) => {
        for (const codec of [CODECS.mainServer, CODECS.inputsServer, CODECS.displayServer] as Codec<unknown>[]) {
          const f = codec.encode(server);
          expect(value(codec.decode(f.type, f.body))).toEqual(server);
        }
        for (const codec of [CODECS.mainClient, CODECS.inputsClient, CODECS.displayClient] as Codec<unknown>[]) {
          const f = codec.encode(client);
          expect(value(codec.decode(f.type, f.body))).toEqual(client);
        }
      }),
    );
  });

  it('rejects malformed server messages: a session id of 0, a channel list longer than its body, a notify text past the end, an impossible surface', () => {
    const init = encodeMainServerMessage({ kind: 'init', sessionId: 0, displayChannelsHint: 1, supportedMouseModes: 3, currentMouseMode: 1, agentConnected: 0, agentTokens: 0, multiMediaTime: 0, ramHint: 0 });
    expect(failure(decodeMainServerMessage(init.type, init.body)).message).toMatch(/session id 0/);
    expect(failure(decodeMainServerMessage(104, hex('0500000001000300'))).message).toMatch(/CHANNELS_LIST announces 5 channels in 4 bytes/);
    const notify = encodeMainServerMessage({ kind: 'notify', timeStamp: 1n, severity: 0, visibility: 0, what: 0, text: 'hello' });
    expect(failure(decodeMainServerMessage(notify.type, notify.body.subarray(0, 26))).message).toMatch(/NOTIFY is truncated: message needs 5 bytes/);
    const surface = encodeDisplayServerMessage({ kind: 'surfaceCreate', surfaceId: 0, width: 0, height: 480, format: 32, flags: 1 });
    expect(failure(decodeDisplayServerMessage(surface.type, surface.body)).message).toMatch(/impossible size 0x480/);
  });

  it('client messages with trailing bytes or unknown types are refused (what a strict server does)', () => {
    const key = encodeInputsClientMessage({ kind: 'keyDown', code: 0x1e });
    expect(failure(decodeInputsClientMessage(key.type, new Uint8Array([...key.body, 0]))).message).toMatch(/KEY_DOWN has 1 unexpected trailing bytes/);
    expect(failure(decodeInputsClientMessage(199, new Uint8Array())).message).toMatch(/unknown SPICE inputs client message type 199/);
  });
});

describe('key codes', () => {
  it('packs set-1 codes as spice-server unpacks them: low byte first, E0 prefix, bit 7 = release', () => {
    expect([scancodeToKeyCode(0x1e, true), scancodeToKeyCode(0x1e, false)]).toEqual([0x1e, 0x9e]);
    expect([scancodeToKeyCode(0xe01d, true), scancodeToKeyCode(0xe01d, false)]).toEqual([0x1de0, 0x9de0]);
    expect(keyCodeBytes(scancodeToKeyCode(0xe01c, false))).toEqual([0xe0, 0x9c]);
  });

  it('every key of the table with a sendable set-1 code round-trips to its make/break bytes', () => {
    const keys = allKeys().filter((k) => k.set1 !== undefined);
    expect(keys.filter((k) => !spiceSendableScancode(k.set1 ?? 0)).map((k) => k.id)).toEqual(['KEY_HANGEUL', 'KEY_HANJA']);
    for (const k of keys.filter((key) => spiceSendableScancode(key.set1 ?? 0))) {
      const set1 = k.set1 ?? 0;
      const prefix = set1 > 0xff ? [0xe0] : [];
      expect(keyCodeBytes(scancodeToKeyCode(set1, true))).toEqual([...prefix, set1 & 0xff]);
      expect(keyCodeBytes(scancodeToKeyCode(set1, false))).toEqual([...prefix, (set1 & 0xff) | 0x80]);
    }
  });
});
