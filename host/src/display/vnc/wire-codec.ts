/**
 * Byte-level helpers shared by the RFB codecs (handshake-codec.ts,
 * messages-codec.ts): a big-endian reader that says "need more bytes" instead
 * of reading past the end, a writer, and the result type every decoder returns.
 * Hand-written because RFB is a handful of fixed big-endian layouts; a
 * general binary-parsing library would add more than it saves. Pure.
 *
 * A decoder never throws on bad input: it returns `more` (the bytes so far are
 * a prefix of a valid message: wait for more), `value` (with the number of
 * bytes it used) or `error` (an ATP_VNC_PROTOCOL AtpError saying what was
 * wrong). `requireWhole` turns `more` into a truncation error for a caller
 * that holds the whole message.
 */
import { AtpError } from '@atp/protocol';

export type Decoded<T> =
  | { readonly kind: 'value'; readonly value: T; readonly size: number }
  | { readonly kind: 'more'; readonly need: number }
  | { readonly kind: 'error'; readonly error: AtpError };

/** Thrown inside a decoder when the input ends early; never escapes `decodeWith`. */
class Short {
  constructor(readonly need: number) {}
}

/** Thrown inside a decoder for malformed input; never escapes `decodeWith`. */
class Malformed {
  constructor(readonly message: string, readonly details: Readonly<Record<string, unknown>>) {}
}

export function protocolError(message: string, details: Readonly<Record<string, unknown>> = {}): AtpError {
  return new AtpError('ATP_VNC_PROTOCOL', message, { details });
}

/** Sequential big-endian reads over `bytes`; reading past the end raises Short. */
export class Reader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.offset;
  }

  private take(n: number): number {
    const at = this.offset;
    if (at + n > this.bytes.byteLength) throw new Short(at + n);
    this.offset += n;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.take(1));
  }

  u16(): number {
    return this.view.getUint16(this.take(2));
  }

  u32(): number {
    return this.view.getUint32(this.take(4));
  }

  s32(): number {
    return this.view.getInt32(this.take(4));
  }

  /** The next n bytes, as a view (no copy). */
  bytesOf(n: number): Uint8Array {
    const at = this.take(n);
    return this.bytes.subarray(at, at + n);
  }

  skip(n: number): void {
    this.take(n);
  }
}

/** Aborts the decoder in progress with an ATP_VNC_PROTOCOL error. */
export function malformed(message: string, details: Readonly<Record<string, unknown>> = {}): never {
  throw new Malformed(message, details);
}

/** Runs a decoder body over `bytes`, turning Short/Malformed into the Decoded union. */
export function decodeWith<T>(bytes: Uint8Array, body: (r: Reader) => T): Decoded<T> {
  const reader = new Reader(bytes);
  try {
    const value = body(reader);
    return { kind: 'value', value, size: reader.position };
  } catch (thrown) {
    if (thrown instanceof Short) return { kind: 'more', need: thrown.need };
    if (thrown instanceof Malformed) return { kind: 'error', error: protocolError(thrown.message, thrown.details) };
    throw thrown;
  }
}

/** The value of a decoder given a whole message; `more` becomes a truncation error naming `what`. */
export function requireWhole<T>(decoded: Decoded<T>, what: string, got: number): T {
  if (decoded.kind === 'value') return decoded.value;
  if (decoded.kind === 'error') throw decoded.error;
  throw protocolError(`truncated ${what}: needs at least ${decoded.need} bytes, got ${got}`, { what, need: decoded.need, got });
}

/** Appends big-endian fields; `finish()` returns exactly the bytes written. */
export class Writer {
  private bytes = new Uint8Array(64);
  private view = new DataView(this.bytes.buffer);
  private length = 0;

  /** Reserves n bytes and returns their offset. It may replace `bytes` and `view`: call it before reading them. */
  private room(n: number): number {
    if (this.length + n > this.bytes.byteLength) {
      const grown = new Uint8Array(Math.max(this.bytes.byteLength * 2, this.length + n));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u8(v: number): this {
    const at = this.room(1);
    this.view.setUint8(at, v);
    return this;
  }

  u16(v: number): this {
    const at = this.room(2);
    this.view.setUint16(at, v);
    return this;
  }

  u32(v: number): this {
    const at = this.room(4);
    this.view.setUint32(at, v);
    return this;
  }

  s32(v: number): this {
    const at = this.room(4);
    this.view.setInt32(at, v);
    return this;
  }

  raw(b: Uint8Array): this {
    const at = this.room(b.byteLength);
    this.bytes.set(b, at);
    return this;
  }

  zeros(n: number): this {
    this.room(n);
    return this;
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** ISO 8859-1 text (RFB's cut text): one byte per character, code points above 0xFF refused. */
export function latin1Bytes(text: string, field: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new AtpError('ATP_SCHEMA_INVALID', `${field} must be ISO 8859-1 text; character ${i} is U+${c.toString(16).toUpperCase().padStart(4, '0')}`, { details: { field, index: i } });
    out[i] = c;
  }
  return out;
}

export function latin1Text(bytes: Uint8Array): string {
  // In slices: one string append per byte builds a rope of millions of nodes for a 16 MiB cut text.
  // (TextDecoder's 'latin1' is windows-1252, which differs in 0x80–0x9F.)
  const parts: string[] = [];
  for (let i = 0; i < bytes.byteLength; i += 8192) parts.push(String.fromCharCode(...bytes.subarray(i, i + 8192)));
  return parts.join('');
}

export const utf8 = {
  encode: (text: string): Uint8Array => new TextEncoder().encode(text),
  decode: (bytes: Uint8Array): string => new TextDecoder('utf-8', { fatal: false }).decode(bytes),
};
