/**
 * The bytes read from /dev/input/eventN: a stream of `struct input_event`
 * records (include/uapi/linux/input.h). Shared by the guest agent (live capture)
 * and the host's lab (recorded fixtures). Hand-written because the record is a
 * fixed binary C struct with no library worth a dependency, and because reads
 * may end mid-record (a FIFO, or a short read), which the streaming decoder must
 * carry over to the next chunk.
 *
 * Layouts (little-endian on every platform ATP ships for):
 * - 'timeval64' (24 bytes, 64-bit userlands): sec u64, usec u64, type u16, code u16, value s32.
 * - 'timeval32' (16 bytes, 32-bit userlands):  sec u32, usec u32, type u16, code u16, value s32.
 * The layout follows the reader's userland, not the kernel: a 32-bit process on a
 * 64-bit kernel gets the compat 16-byte records. The uapi header declares sec and
 * usec as `__kernel_ulong_t`, so both are read unsigned.
 *
 * The format has no framing: arbitrary bytes decode into well-formed records, so a
 * consumer must tolerate nonsense types, codes and values.
 * Pure and browser-safe: Uint8Array and DataView only.
 */
import { AtpError } from '../errors.js';

export type InputEventLayout = 'timeval64' | 'timeval32';

export const INPUT_EVENT_SIZE: Readonly<Record<InputEventLayout, number>> = { timeval64: 24, timeval32: 16 };

export interface RawInputEvent {
  /** Seconds of the event's timeval (CLOCK_REALTIME unless the reader asked evdev for another clock). */
  readonly sec: number;
  readonly usec: number;
  readonly type: number;
  readonly code: number;
  readonly value: number;
}

const ARCH_32 = new Set(['ia32', 'arm', 'mips', 'mipsel', 'ppc', 's390', 'x32']);

/** The record layout for a Node `process.arch` value; unknown arches are assumed 64-bit. */
export function layoutForArch(arch: string): InputEventLayout {
  return ARCH_32.has(arch) ? 'timeval32' : 'timeval64';
}

/** Milliseconds since the epoch of the clock evdev stamped the event with, as a float. */
export function eventTimeMs(event: Pick<RawInputEvent, 'sec' | 'usec'>): number {
  return event.sec * 1000 + event.usec / 1000;
}

const TWO_32 = 0x1_0000_0000;

function decodeAt(view: DataView, offset: number, layout: InputEventLayout): RawInputEvent {
  if (layout === 'timeval64') {
    return {
      sec: view.getUint32(offset, true) + view.getUint32(offset + 4, true) * TWO_32,
      usec: view.getUint32(offset + 8, true) + view.getUint32(offset + 12, true) * TWO_32,
      type: view.getUint16(offset + 16, true),
      code: view.getUint16(offset + 18, true),
      value: view.getInt32(offset + 20, true),
    };
  }
  return {
    sec: view.getUint32(offset, true),
    usec: view.getUint32(offset + 4, true),
    type: view.getUint16(offset + 8, true),
    code: view.getUint16(offset + 10, true),
    value: view.getInt32(offset + 12, true),
  };
}

/** Decodes a byte stream into records, carrying a partial record across chunks. */
export class InputEventDecoder {
  readonly layout: InputEventLayout;
  readonly recordSize: number;
  private readonly partial: Uint8Array;
  private partialLength = 0;

  constructor(layout: InputEventLayout = 'timeval64') {
    this.layout = layout;
    this.recordSize = INPUT_EVENT_SIZE[layout];
    this.partial = new Uint8Array(this.recordSize);
  }

  /** Bytes of an incomplete record waiting for the next chunk. */
  get pendingBytes(): number {
    return this.partialLength;
  }

  /** Forget a partial record (after the stream was reopened). */
  reset(): void {
    this.partialLength = 0;
  }

  /** Every complete record in `chunk` (after any carried-over bytes), in stream order. */
  push(chunk: Uint8Array): RawInputEvent[] {
    const out: RawInputEvent[] = [];
    let offset = 0;
    if (this.partialLength > 0) {
      const take = Math.min(this.recordSize - this.partialLength, chunk.length);
      this.partial.set(chunk.subarray(0, take), this.partialLength);
      this.partialLength += take;
      offset = take;
      if (this.partialLength < this.recordSize) return out;
      out.push(decodeAt(new DataView(this.partial.buffer, this.partial.byteOffset, this.recordSize), 0, this.layout));
      this.partialLength = 0;
    }
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (; offset + this.recordSize <= chunk.length; offset += this.recordSize) {
      out.push(decodeAt(view, offset, this.layout));
    }
    if (offset < chunk.length) {
      this.partial.set(chunk.subarray(offset), 0);
      this.partialLength = chunk.length - offset;
    }
    return out;
  }
}

/**
 * Decodes a complete capture (a recorded file): whole records only. Throws
 * ATP_SCHEMA_INVALID when the length is not a multiple of the record size (the
 * reader was cut mid-record, or the layout is wrong).
 */
export function decodeInputEvents(bytes: Uint8Array, layout: InputEventLayout = 'timeval64'): RawInputEvent[] {
  const size = INPUT_EVENT_SIZE[layout];
  if (bytes.length % size !== 0) {
    throw new AtpError('ATP_SCHEMA_INVALID', `evdev data is ${bytes.length} bytes, not a multiple of ${size}`, { details: { length: bytes.length, layout } });
  }
  return new InputEventDecoder(layout).push(bytes);
}

/** Encodes records: the inverse of the decoder, for tests, fixtures and FIFOs that stand in for a device. */
export function encodeInputEvents(events: readonly RawInputEvent[], layout: InputEventLayout = 'timeval64'): Uint8Array {
  const size = INPUT_EVENT_SIZE[layout];
  const bytes = new Uint8Array(events.length * size);
  const view = new DataView(bytes.buffer);
  events.forEach((e, i) => {
    const o = i * size;
    if (layout === 'timeval64') {
      view.setUint32(o, e.sec % TWO_32, true);
      view.setUint32(o + 4, Math.floor(e.sec / TWO_32), true);
      view.setUint32(o + 8, e.usec % TWO_32, true);
      view.setUint32(o + 12, Math.floor(e.usec / TWO_32), true);
      view.setUint16(o + 16, e.type, true);
      view.setUint16(o + 18, e.code, true);
      view.setInt32(o + 20, e.value, true);
    } else {
      view.setUint32(o, e.sec, true);
      view.setUint32(o + 4, e.usec, true);
      view.setUint16(o + 8, e.type, true);
      view.setUint16(o + 10, e.code, true);
      view.setInt32(o + 12, e.value, true);
    }
  });
  return bytes;
}
