/**
 * Fuzz targets for what a SPICE or VNC server sends us (host/src/display/):
 * SPICE link replies, SPICE channel streams (FrameDecoder and the main,
 * display and inputs decoders), the RFB handshake messages and the RFB server
 * message stream. Seeds are valid messages built with the codecs' own
 * encoders (from spice-arbitraries.ts and RFB shapes QEMU 7.2 sends); one VNC
 * input kind announces a large rectangle and then delivers it in small chunks,
 * as a slow network would, to bound the work per byte received.
 */
import fc from 'fast-check';
import type { AtpError } from '@atp/protocol';
import { encodeFrame, FrameDecoder } from '../../src/display/spice/codec.js';
import { SPICE_MAGIC } from '../../src/display/spice/constants.js';
import { decodeDisplayServerMessage, encodeDisplayServerMessage } from '../../src/display/spice/display-codec.js';
import { decodeInputsServerMessage, encodeInputsServerMessage } from '../../src/display/spice/inputs-codec.js';
import { decodeAuthMechanism, decodeLinkHeader, decodeLinkReply, decodeLinkResult, encodeLinkReply, LINK_HEADER_BYTES } from '../../src/display/spice/link-codec.js';
import { decodeMainServerMessage, encodeMainServerMessage } from '../../src/display/spice/main-codec.js';
import { decodeChallenge, decodeProtocolVersion, decodeSecurityResult, decodeSecurityTypes, decodeServerInit, encodeProtocolVersion, encodeSecurityResult, encodeSecurityTypes, encodeServerInit, MAX_TEXT_BYTES } from '../../src/display/vnc/handshake-codec.js';
import { encodeServerMessage, ENCODING, ServerMessageDecoder, type ServerMessage } from '../../src/display/vnc/messages-codec.js';
import type { Decoded as VncDecoded } from '../../src/display/vnc/wire-codec.js';
import { spiceDisplayServer, spiceInputsServer, spiceMainServer } from '../spice-arbitraries.js';
import { InvariantBroken, namesPlace, type FuzzTarget } from './harness.js';
import { chunked, mutatedBytes } from './mutate.js';

const sample = <T>(arb: fc.Arbitrary<T>, n: number): T[] => fc.sample(arb, { numRuns: n, seed: 7 });

function linkReplyBytes(body: Uint8Array): Uint8Array {
  const head = Buffer.alloc(LINK_HEADER_BYTES);
  head.writeUInt32LE(SPICE_MAGIC, 0);
  head.writeUInt32LE(2, 4);
  head.writeUInt32LE(2, 8);
  head.writeUInt32LE(body.byteLength, 12);
  return new Uint8Array(Buffer.concat([head, body]));
}

const LINK_SEEDS = [
  linkReplyBytes(encodeLinkReply({ error: 0, publicKey: new Uint8Array(162).fill(3), commonCaps: [0b1011], channelCaps: [0b1] })),
  linkReplyBytes(encodeLinkReply({ error: 7, publicKey: new Uint8Array(162), commonCaps: [], channelCaps: [] })),
];

/** The link reply as the client reads it: header, body of the header's size, then the auth mechanism and link result words. */
export const spiceLinkTarget: FuzzTarget<Uint8Array> = {
  name: 'spice-link',
  boundary: 'SPICE link reply, auth mechanism, link result (display/spice/link-codec.ts)',
  input: mutatedBytes(LINK_SEEDS.flatMap((s) => [s, new Uint8Array(Buffer.concat([s, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])]))])),
  maxMs: 1000,
  locates: (e) => namesPlace(e, ['field', 'offset', 'message']),
  open: () => ({
    run(bytes) {
      const errors: AtpError[] = [];
      const note = <T>(d: { ok: true; value: T } | { ok: false; error: AtpError }): T | undefined => (d.ok ? d.value : (errors.push(d.error), undefined));
      const header = note(decodeLinkHeader(bytes.subarray(0, LINK_HEADER_BYTES)));
      const size = header?.size ?? bytes.length - LINK_HEADER_BYTES;
      const body = bytes.subarray(LINK_HEADER_BYTES, LINK_HEADER_BYTES + Math.max(0, size));
      note(decodeLinkReply(body));
      const rest = bytes.subarray(LINK_HEADER_BYTES + body.byteLength);
      note(decodeAuthMechanism(rest.subarray(0, 4)));
      note(decodeLinkResult(rest.subarray(4, 8)));
      return errors;
    },
  }),
};

const SPICE_MAX_BODY = 1024 * 1024;
const frames = [
  ...sample(spiceMainServer, 25).map((m) => encodeMainServerMessage(m)),
  ...sample(spiceDisplayServer, 15).map((m) => encodeDisplayServerMessage(m)),
  ...sample(spiceInputsServer, 10).map((m) => encodeInputsServerMessage(m)),
].map((f) => encodeFrame('mini', f.type, f.body));

/** One channel's byte stream: frames cut by FrameDecoder, each frame decoded as every channel would. */
export const spiceChannelTarget: FuzzTarget<Uint8Array[]> = {
  name: 'spice-channels',
  boundary: 'SPICE channel messages (display/spice/codec.ts, main-, display-, inputs-codec.ts)',
  input: chunked(mutatedBytes(frames, 5)),
  maxMs: 1000,
  locates: (e) => namesPlace(e, ['field', 'offset', 'message', 'type', 'size', 'trailing']),
  open: () => ({
    run(chunks) {
      const decoder = new FrameDecoder('mini', SPICE_MAX_BODY);
      const errors: AtpError[] = [];
      for (const c of chunks) {
        for (const item of decoder.push(c)) {
          if (item.kind === 'error') errors.push(item.error);
          else {
            for (const decode of [decodeMainServerMessage, decodeDisplayServerMessage, decodeInputsServerMessage]) {
              const d = decode(item.frame.type, item.frame.body);
              if (!d.ok) errors.push(d.error);
            }
          }
        }
        if (decoder.pending > SPICE_MAX_BODY + 64) throw new InvariantBroken(`FrameDecoder holds ${decoder.pending} bytes, bound ${SPICE_MAX_BODY}`);
      }
      return errors;
    },
  }),
};

const pixelFormat = { bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0 };
const HANDSHAKE_SEEDS = [
  encodeProtocolVersion({ major: 3, minor: 8 }),
  encodeSecurityTypes({ kind: 'types', types: [1, 2] }),
  encodeSecurityTypes({ kind: 'failed', reason: 'too many connections' }),
  encodeSecurityResult({ ok: true }),
  encodeSecurityResult({ ok: false, status: 1, reason: 'Authentication failed\0' }),
  new Uint8Array(16).fill(9),
  encodeServerInit({ width: 1024, height: 768, pixelFormat, name: 'QEMU (vm-01) ü' }),
];

/** Every handshake decoder on the same bytes: a value, a bounded `more`, or a located error. */
export const vncHandshakeTarget: FuzzTarget<Uint8Array> = {
  name: 'vnc-handshake',
  boundary: 'RFB 3.8 handshake (display/vnc/handshake-codec.ts)',
  input: mutatedBytes(HANDSHAKE_SEEDS),
  maxMs: 1000,
  locates: (e) => namesPlace(e, ['field', 'what']),
  open: () => ({
    run(bytes) {
      const errors: AtpError[] = [];
      const decoders: ((b: Uint8Array) => VncDecoded<unknown>)[] = [decodeProtocolVersion, decodeSecurityTypes, decodeSecurityResult, decodeChallenge, decodeServerInit];
      for (const decode of decoders) {
        const d = decode(bytes);
        if (d.kind === 'error') errors.push(d.error);
        if (d.kind === 'more' && d.need > bytes.length + MAX_TEXT_BYTES + 64) throw new InvariantBroken(`${decode.name} waits for ${d.need} bytes`);
      }
      return errors;
    },
  }),
};

const ctx = { bytesPerPixel: 4 };
const SERVER_MESSAGES: ServerMessage[] = [
  { type: 'framebufferUpdate', rects: [{ x: 0, y: 0, width: 2, height: 2, encoding: ENCODING.raw }, { x: 1, y: 1, width: 0, height: 0, encoding: ENCODING.ledState, leds: 3 }] },
  { type: 'framebufferUpdate', rects: [{ x: 0, y: 0, width: 8, height: 8, encoding: ENCODING.zrle, pixels: new Uint8Array(12) }] },
  { type: 'framebufferUpdate', rects: [{ x: 0, y: 0, width: 1024, height: 768, encoding: ENCODING.extendedDesktopSize, screens: [{ id: 1, x: 0, y: 0, width: 1024, height: 768, flags: 0 }] }, { x: 0, y: 0, width: 0, height: 0, encoding: ENCODING.lastRect }] },
  { type: 'setColourMapEntries', firstColour: 0, colours: [{ red: 1, green: 2, blue: 3 }] },
  { type: 'bell' },
  { type: 'serverCutText', text: 'copied ÿ' },
];

/** A rectangle (ZRLE) or cut text announcing `size` bytes, the bytes then arriving `chunk` at a time. */
const announcedThenStreamed: fc.Arbitrary<Uint8Array[]> = fc
  .record({ size: fc.constantFrom(1 << 20, 4 << 20, 8 << 20), chunk: fc.constantFrom(4096, 8192, 65536), cut: fc.boolean() })
  .map(({ size, chunk, cut }) => {
    const head = Buffer.alloc(cut ? 8 : 20);
    if (cut) {
      head.writeUInt8(3, 0);
      head.writeUInt32BE(size, 4);
    } else {
      head.writeUInt16BE(1, 2);
      head.writeInt32BE(ENCODING.zrle, 12);
      head.writeUInt32BE(size, 16);
    }
    const payload = new Uint8Array(size);
    const out: Uint8Array[] = [new Uint8Array(head)];
    for (let i = 0; i < size; i += chunk) out.push(payload.subarray(i, i + chunk));
    return out;
  });

/** The server message stream after the handshake, through ServerMessageDecoder. */
export const vncMessagesTarget: FuzzTarget<Uint8Array[]> = {
  name: 'vnc-messages',
  boundary: 'RFB server messages (display/vnc/messages-codec.ts)',
  input: fc.oneof({ weight: 9, arbitrary: chunked(mutatedBytes(SERVER_MESSAGES.map((m) => encodeServerMessage(m, ctx)), 5)) }, { weight: 1, arbitrary: announcedThenStreamed }),
  maxMs: 1500,
  locates: (e) => namesPlace(e, ['field', 'what']),
  open: () => ({
    run(chunks) {
      const decoder = new ServerMessageDecoder(ctx);
      const errors: AtpError[] = [];
      for (const c of chunks) for (const item of decoder.push(c)) if (item.kind === 'error') errors.push(item.error);
      return errors;
    },
  }),
};
