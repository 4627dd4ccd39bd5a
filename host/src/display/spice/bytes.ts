/**
 * Little-endian byte reading and writing for the SPICE codecs (SPICE puts
 * every integer on the wire little-endian, packed, no padding). Pure.
 *
 * A `ByteReader` never reads past its end: a short body throws
 * ATP_SPICE_PROTOCOL naming the message and field that was cut off, which the
 * codecs turn into a `Decoded` failure. Hand-written: a few dozen lines, and
 * the error text is ours.
 */
import { AtpError } from '@atp/protocol';

/** A decode result: the value, or the typed error saying what was wrong. Decoders return these; they never throw. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: AtpError };

export function protocolError(message: string, details: Readonly<Record<string, unknown>> = {}): AtpError {
  return new AtpError('ATP_SPICE_PROTOCOL', message, { details });
}

/** Runs a throwing decoder and turns its ATP_SPICE_PROTOCOL error into a failed `Decoded`. */
export function decodeWith<T>(decode: () => T): Decoded<T> {
  try {
    return { ok: true, value: decode() };
  } catch (error) {
    if (error instanceof AtpError) return { ok: false, error };
    return { ok: false, error: protocolError(`SPICE decoder failed: ${String(error)}`) };
  }
}

export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    /** Names the message in errors ("main INIT"). */
    readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  private need(size: number, field: string): number {
    if (this.remaining < size) {
      throw protocolError(`SPICE ${this.what} is truncated: ${field} needs ${size} bytes at offset ${this.offset}, ${this.remaining} left`, {
        message: this.what,
        field,
        offset: this.offset,
      });
    }
    const at = this.offset;
    this.offset += size;
    return at;
  }

  u8(field: string): number {
    return this.view.getUint8(this.need(1, field));
  }

  u16(field: string): number {
    return this.view.getUint16(this.need(2, field), true);
  }

  u32(field: string): number {
    return this.view.getUint32(this.need(4, field), true);
  }

  i32(field: string): number {
    return this.view.getInt32(this.need(4, field), true);
  }

  /** A u64 as a bigint (timestamps, serials: beyond 2^53). */
  u64(field: string): bigint {
    return this.view.getBigUint64(this.need(8, field), true);
  }

  i64(field: string): bigint {
    return this.view.getBigInt64(this.need(8, field), true);
  }

  bytesOf(size: number, field: string): Uint8Array {
    const at = this.need(size, field);
    return this.bytes.slice(at, at + size);
  }

  /** Everything not read yet. */
  rest(): Uint8Array {
    const at = this.offset;
    this.offset = this.bytes.byteLength;
    return this.bytes.slice(at);
  }

  seek(offset: number, field: string): void {
    if (!Number.isInteger(offset) || offset < 0 || offset > this.bytes.byteLength) {
      throw protocolError(`SPICE ${this.what}: ${field} ${offset} points outside the ${this.bytes.byteLength}-byte message`, { message: this.what, field, offset });
    }
    this.offset = offset;
  }

  /** Rejects bytes left over after the last field, for messages whose size is fixed. */
  end(): void {
    if (this.remaining !== 0) {
      throw protocolError(`SPICE ${this.what} has ${this.remaining} unexpected trailing bytes`, { message: this.what, trailing: this.remaining });
    }
  }
}

function checkInt(value: number | bigint, min: number | bigint, max: number | bigint, field: string): void {
  const ok = typeof value === 'bigint' ? true : Number.isInteger(value);
  if (!ok || value < min || value > max) {
    throw new AtpError('ATP_SCHEMA_INVALID', `SPICE field ${field} must be an integer in ${min}..${max}, got ${String(value)}`, { details: { field, value: String(value) } });
  }
}

/** Builds a little-endian message; every setter range-checks (ATP_SCHEMA_INVALID names the field). */
export class ByteWriter {
  private readonly chunks: number[] = [];

  u8(value: number, field: string): this {
    checkInt(value, 0, 0xff, field);
    this.chunks.push(value);
    return this;
  }

  u16(value: number, field: string): this {
    checkInt(value, 0, 0xffff, field);
    this.chunks.push(value & 0xff, value >>> 8);
    return this;
  }

  u32(value: number, field: string): this {
    checkInt(value, 0, 0xffffffff, field);
    this.chunks.push(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
    return this;
  }

  i32(value: number, field: string): this {
    checkInt(value, -0x80000000, 0x7fffffff, field);
    return this.u32(value >>> 0, field);
  }

  u64(value: bigint, field: string): this {
    checkInt(value, 0n, 0xffffffffffffffffn, field);
    for (let i = 0n; i < 8n; i++) this.chunks.push(Number((value >> (8n * i)) & 0xffn));
    return this;
  }

  i64(value: bigint, field: string): this {
    checkInt(value, -0x8000000000000000n, 0x7fffffffffffffffn, field);
    return this.u64(BigInt.asUintN(64, value), field);
  }

  bytes(data: Uint8Array): this {
    for (const b of data) this.chunks.push(b);
    return this;
  }

  get length(): number {
    return this.chunks.length;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}
