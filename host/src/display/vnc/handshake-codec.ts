/**
 * RFB 3.8 handshake messages (rfbproto.rst, "Handshake Messages" and
 * "Initialisation Messages"), both directions, bytes <-> values. Pure.
 * Hand-written (see wire-codec.ts for why); the DES cipher itself comes from
 * the maintained `des.js` package, because Node's OpenSSL 3 has no des-ecb
 * without the legacy provider (measured: createCipheriv('des-ecb') throws
 * "unsupported" on Node 22 here).
 *
 * Order on the wire: server ProtocolVersion, client ProtocolVersion, server
 * security types (or a failure reason), client's chosen type, [VNC auth:
 * 16-byte challenge, 16-byte response], SecurityResult (3.8 sends it for None
 * too; a failure carries a reason string), ClientInit (shared flag),
 * ServerInit (framebuffer size, pixel format, desktop name).
 */
// @ts-expect-error -- des.js ships no type declarations; DesModule below types the one call used.
import desjs from 'des.js';
import { decodeWith, malformed, utf8, Writer, type Decoded, type Reader } from './wire-codec.js';

/** The part of `des.js` used here: plain DES, ECB, no padding; update/final return byte arrays. */
interface DesModule {
  readonly DES: {
    create(options: { type: 'encrypt'; key: ArrayLike<number>; padding: false }): { update(data: ArrayLike<number>): number[]; final(): number[] };
  };
}
const des = (desjs as DesModule).DES;

export const SECURITY_NONE = 1;
export const SECURITY_VNC_AUTH = 2;

/** Reason strings and desktop names longer than this are treated as malformed. */
export const MAX_TEXT_BYTES = 64 * 1024;

export interface ProtocolVersion {
  major: number;
  minor: number;
}

/** "RFB 003.008\n". */
export function encodeProtocolVersion(v: ProtocolVersion): Uint8Array {
  const pad = (n: number): string => String(n).padStart(3, '0');
  return utf8.encode(`RFB ${pad(v.major)}.${pad(v.minor)}\n`);
}

export function decodeProtocolVersion(bytes: Uint8Array): Decoded<ProtocolVersion> {
  return decodeWith(bytes, (r) => {
    const text = String.fromCharCode(...r.bytesOf(12));
    const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(text);
    if (!m) malformed(`the server's ProtocolVersion is not "RFB xxx.yyy\\n": ${JSON.stringify(text)}`, { field: 'ProtocolVersion', got: text });
    return { major: Number(m[1]), minor: Number(m[2]) };
  });
}

export type SecurityTypes = { kind: 'types'; types: number[] } | { kind: 'failed'; reason: string };

export function encodeSecurityTypes(s: SecurityTypes): Uint8Array {
  if (s.kind === 'failed') return encodeReason(new Writer().u8(0), s.reason).finish();
  const w = new Writer().u8(s.types.length);
  for (const t of s.types) w.u8(t);
  return w.finish();
}

export function decodeSecurityTypes(bytes: Uint8Array): Decoded<SecurityTypes> {
  return decodeWith(bytes, (r): SecurityTypes => {
    const count = r.u8();
    if (count === 0) return { kind: 'failed', reason: readReason(r, 'security types failure reason') };
    return { kind: 'types', types: [...r.bytesOf(count)] };
  });
}

/** The client's choice of security type: one byte. */
export function encodeSecurityChoice(type: number): Uint8Array {
  return new Writer().u8(type).finish();
}

export function decodeSecurityChoice(bytes: Uint8Array): Decoded<number> {
  return decodeWith(bytes, (r) => r.u8());
}

export type SecurityResult = { ok: true } | { ok: false; status: number; reason: string };

export function encodeSecurityResult(s: SecurityResult): Uint8Array {
  if (s.ok) return new Writer().u32(0).finish();
  return encodeReason(new Writer().u32(s.status), s.reason).finish();
}

export function decodeSecurityResult(bytes: Uint8Array): Decoded<SecurityResult> {
  return decodeWith(bytes, (r): SecurityResult => {
    const status = r.u32();
    if (status === 0) return { ok: true };
    return { ok: false, status, reason: readReason(r, 'SecurityResult failure reason') };
  });
}

/** The VNC authentication challenge (16 random bytes from the server). */
export function decodeChallenge(bytes: Uint8Array): Decoded<Uint8Array> {
  return decodeWith(bytes, (r) => r.bytesOf(16).slice());
}

function reverseBits(byte: number): number {
  let out = 0;
  for (let i = 0; i < 8; i++) out |= ((byte >> i) & 1) << (7 - i);
  return out;
}

/**
 * The VNC authentication key: the password's first 8 bytes (UTF-8, as QEMU
 * stores it; zero-padded), each byte bit-reversed (the historic VNC quirk).
 */
export function vncAuthKey(password: string): Uint8Array {
  const key = new Uint8Array(8);
  utf8.encode(password).subarray(0, 8).forEach((b, i) => (key[i] = reverseBits(b)));
  return key;
}

/** The 16-byte response: the challenge's two blocks DES-ECB encrypted with vncAuthKey(password). */
export function vncAuthResponse(challenge: Uint8Array, password: string): Uint8Array {
  if (challenge.byteLength !== 16) throw new RangeError(`a VNC challenge is 16 bytes, got ${challenge.byteLength}`);
  const cipher = des.create({ type: 'encrypt', key: vncAuthKey(password), padding: false });
  return Uint8Array.from([...cipher.update(challenge), ...cipher.final()]);
}

/** ClientInit: one byte, non-zero = share the desktop with other clients. */
export function encodeClientInit(shared: boolean): Uint8Array {
  return new Writer().u8(shared ? 1 : 0).finish();
}

export function decodeClientInit(bytes: Uint8Array): Decoded<{ shared: boolean }> {
  return decodeWith(bytes, (r) => ({ shared: r.u8() !== 0 }));
}

export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

export function writePixelFormat(w: Writer, p: PixelFormat): Writer {
  w.u8(p.bitsPerPixel).u8(p.depth).u8(p.bigEndian ? 1 : 0).u8(p.trueColour ? 1 : 0);
  w.u16(p.redMax).u16(p.greenMax).u16(p.blueMax).u8(p.redShift).u8(p.greenShift).u8(p.blueShift);
  return w.zeros(3);
}

export function readPixelFormat(r: Reader): PixelFormat {
  const bitsPerPixel = r.u8();
  if (![8, 16, 32].includes(bitsPerPixel)) malformed(`pixel format bits-per-pixel must be 8, 16 or 32, got ${bitsPerPixel}`, { field: 'bits-per-pixel', got: bitsPerPixel });
  const p: PixelFormat = {
    bitsPerPixel,
    depth: r.u8(),
    bigEndian: r.u8() !== 0,
    trueColour: r.u8() !== 0,
    redMax: r.u16(),
    greenMax: r.u16(),
    blueMax: r.u16(),
    redShift: r.u8(),
    greenShift: r.u8(),
    blueShift: r.u8(),
  };
  r.skip(3);
  return p;
}

export interface ServerInit {
  width: number;
  height: number;
  pixelFormat: PixelFormat;
  name: string;
}

export function encodeServerInit(s: ServerInit): Uint8Array {
  const w = writePixelFormat(new Writer().u16(s.width).u16(s.height), s.pixelFormat);
  const name = utf8.encode(s.name);
  return w.u32(name.byteLength).raw(name).finish();
}

export function decodeServerInit(bytes: Uint8Array): Decoded<ServerInit> {
  return decodeWith(bytes, (r) => {
    const width = r.u16();
    const height = r.u16();
    const pixelFormat = readPixelFormat(r);
    const length = r.u32();
    if (length > MAX_TEXT_BYTES) malformed(`ServerInit desktop name is ${length} bytes, more than ${MAX_TEXT_BYTES}`, { field: 'name-length', got: length });
    return { width, height, pixelFormat, name: utf8.decode(r.bytesOf(length)) };
  });
}

function encodeReason(w: Writer, reason: string): Writer {
  const bytes = utf8.encode(reason);
  return w.u32(bytes.byteLength).raw(bytes);
}

function readReason(r: Reader, what: string): string {
  const length = r.u32();
  if (length > MAX_TEXT_BYTES) malformed(`${what} is ${length} bytes, more than ${MAX_TEXT_BYTES}`, { field: 'reason-length', got: length });
  // QEMU 7.2 counts the C string's terminating NUL in the length ("Authentication failed\0").
  return utf8.decode(r.bytesOf(length)).replace(/\0+$/, '');
}
