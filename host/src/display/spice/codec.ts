/**
 * SPICE channel framing and the messages every channel shares. Pure.
 *
 * After the link, each message is a data header and a body. With the
 * MINI_HEADER common capability on both sides (spice-server has it) the header
 * is SpiceMiniDataHeader { type u16, size u32 }; without it, SpiceDataHeader
 * { serial u64, type u16, size u32, sub_list u32 }. `FrameDecoder` cuts a byte
 * stream into frames and never throws: an oversized frame is reported once as
 * an ATP_SPICE_PROTOCOL error item, after which the stream has lost its framing
 * and the decoder yields nothing more (the owner closes the channel).
 *
 * Base messages (spice.proto BaseChannel), numbered below 100 on every channel:
 * server SET_ACK {generation u32, window u32}, PING {id u32, timestamp u64, data},
 * DISCONNECTING {time_stamp u64, reason u32}, NOTIFY {time_stamp u64, severity u32,
 * visibility u32, what u32, message_len u32, message}; client ACK_SYNC
 * {generation u32}, ACK {}, PONG {id u32, timestamp u64}, DISCONNECTING.
 * Server messages may carry bytes after the last field (a newer server's
 * additions) and are accepted; a body shorter than its fields is an error.
 */
import { AtpError } from '@atp/protocol';
import { ByteReader, ByteWriter, decodeWith, type Decoded } from './bytes.js';
import { BaseMsg, BaseMsgc } from './constants.js';

export type HeaderKind = 'mini' | 'full';
export const MINI_HEADER_BYTES = 6;
export const FULL_HEADER_BYTES = 18;

export interface SpiceFrame {
  type: number;
  body: Uint8Array;
}

export type FrameItem = { kind: 'frame'; frame: SpiceFrame } | { kind: 'error'; error: AtpError };

export function encodeFrame(header: HeaderKind, type: number, body: Uint8Array, serial = 0n): Uint8Array {
  const w = new ByteWriter();
  if (header === 'full') w.u64(serial, 'serial');
  w.u16(type, 'type').u32(body.byteLength, 'size');
  if (header === 'full') w.u32(0, 'sub_list');
  const head = w.finish();
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head, 0);
  out.set(body, head.byteLength);
  return out;
}

/** Default bound on one frame's body: display images of a large screen fit, a corrupt size does not. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private broken = false;
  private readonly headerBytes: number;

  constructor(
    readonly header: HeaderKind,
    private readonly maxBodyBytes = DEFAULT_MAX_FRAME_BYTES,
  ) {
    this.headerBytes = header === 'mini' ? MINI_HEADER_BYTES : FULL_HEADER_BYTES;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): FrameItem[] {
    if (this.broken) return [];
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.byteLength;
    }
    const items: FrameItem[] = [];
    while (this.buffered >= this.headerBytes) {
      const head = new ByteReader(this.peek(this.headerBytes), 'data header');
      if (this.header === 'full') head.u64('serial');
      const type = head.u16('type');
      const size = head.u32('size');
      if (size > this.maxBodyBytes) {
        this.broken = true;
        this.chunks = [];
        this.buffered = 0;
        items.push({
          kind: 'error',
          error: new AtpError('ATP_SPICE_PROTOCOL', `SPICE message type ${type} announces ${size} bytes, above the ${this.maxBodyBytes}-byte limit: the stream is out of step`, {
            details: { type, size, limit: this.maxBodyBytes },
          }),
        });
        return items;
      }
      if (this.buffered < this.headerBytes + size) break;
      const whole = this.take(this.headerBytes + size);
      items.push({ kind: 'frame', frame: { type, body: whole.slice(this.headerBytes) } });
    }
    return items;
  }

  private peek(size: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.byteLength >= size) return first.subarray(0, size);
    this.chunks = [this.join()];
    return (this.chunks[0] ?? new Uint8Array(0)).subarray(0, size);
  }

  private take(size: number): Uint8Array {
    let first = this.chunks[0];
    if (first === undefined || first.byteLength < size) {
      this.chunks = [this.join()];
      first = this.chunks[0] ?? new Uint8Array(0);
    }
    const out = first.subarray(0, size);
    if (first.byteLength === size) this.chunks.shift();
    else this.chunks[0] = first.subarray(size);
    this.buffered -= size;
    return out;
  }

  private join(): Uint8Array {
    const all = new Uint8Array(this.buffered);
    let at = 0;
    for (const c of this.chunks) {
      all.set(c, at);
      at += c.byteLength;
    }
    return all;
  }
}

export type BaseServerMessage =
  | { kind: 'setAck'; generation: number; window: number }
  | { kind: 'ping'; id: number; timestamp: bigint; data: Uint8Array }
  | { kind: 'disconnecting'; timeStamp: bigint; reason: number }
  | { kind: 'notify'; timeStamp: bigint; severity: number; visibility: number; what: number; text: string };

export type BaseClientMessage =
  | { kind: 'ackSync'; generation: number }
  | { kind: 'ack' }
  | { kind: 'pong'; id: number; timestamp: bigint }
  | { kind: 'disconnecting'; timeStamp: bigint; reason: number };

/** A message this client does not interpret (MIGRATE, WAIT_FOR_CHANNELS, display drawing, agent data ...). */
export interface OtherMessage {
  kind: 'other';
  type: number;
  body: Uint8Array;
}

export function encodeBaseServerMessage(m: BaseServerMessage): SpiceFrame {
  const w = new ByteWriter();
  switch (m.kind) {
    case 'setAck':
      return { type: BaseMsg.setAck, body: w.u32(m.generation, 'generation').u32(m.window, 'window').finish() };
    case 'ping':
      return { type: BaseMsg.ping, body: w.u32(m.id, 'id').u64(m.timestamp, 'timestamp').bytes(m.data).finish() };
    case 'disconnecting':
      return { type: BaseMsg.disconnecting, body: w.u64(m.timeStamp, 'time_stamp').u32(m.reason, 'reason').finish() };
    case 'notify': {
      const text = new TextEncoder().encode(m.text);
      w.u64(m.timeStamp, 'time_stamp').u32(m.severity, 'severity').u32(m.visibility, 'visibility').u32(m.what, 'what');
      // spice-server sends the text's NUL after message_len bytes.
      return { type: BaseMsg.notify, body: w.u32(text.byteLength, 'message_len').bytes(text).u8(0, 'nul').finish() };
    }
  }
}

/** Decodes a base server message; undefined when `type` is not one this client interprets. */
export function decodeBaseServerMessage(type: number, body: Uint8Array): Decoded<BaseServerMessage> | undefined {
  switch (type) {
    case BaseMsg.setAck:
      return decodeWith(() => {
        const r = new ByteReader(body, 'SET_ACK');
        return { kind: 'setAck', generation: r.u32('generation'), window: r.u32('window') };
      });
    case BaseMsg.ping:
      return decodeWith(() => {
        const r = new ByteReader(body, 'PING');
        return { kind: 'ping', id: r.u32('id'), timestamp: r.u64('timestamp'), data: r.rest() };
      });
    case BaseMsg.disconnecting:
      return decodeWith(() => {
        const r = new ByteReader(body, 'DISCONNECTING');
        return { kind: 'disconnecting', timeStamp: r.u64('time_stamp'), reason: r.u32('reason') };
      });
    case BaseMsg.notify:
      return decodeWith(() => {
        const r = new ByteReader(body, 'NOTIFY');
        const timeStamp = r.u64('time_stamp');
        const severity = r.u32('severity');
        const visibility = r.u32('visibility');
        const what = r.u32('what');
        const length = r.u32('message_len');
        const text = new TextDecoder().decode(r.bytesOf(length, 'message'));
        return { kind: 'notify', timeStamp, severity, visibility, what, text };
      });
    default:
      return undefined;
  }
}

export function encodeBaseClientMessage(m: BaseClientMessage): SpiceFrame {
  const w = new ByteWriter();
  switch (m.kind) {
    case 'ackSync':
      return { type: BaseMsgc.ackSync, body: w.u32(m.generation, 'generation').finish() };
    case 'ack':
      return { type: BaseMsgc.ack, body: w.finish() };
    case 'pong':
      return { type: BaseMsgc.pong, body: w.u32(m.id, 'id').u64(m.timestamp, 'timestamp').finish() };
    case 'disconnecting':
      return { type: BaseMsgc.disconnecting, body: w.u64(m.timeStamp, 'time_stamp').u32(m.reason, 'reason').finish() };
  }
}

/** Decodes a base client message (what a server reads); undefined for other types. Client messages have fixed sizes. */
export function decodeBaseClientMessage(type: number, body: Uint8Array): Decoded<BaseClientMessage> | undefined {
  const fixed = <T>(what: string, read: (r: ByteReader) => T): Decoded<T> => decodeFixed(body, what, read);
  switch (type) {
    case BaseMsgc.ackSync:
      return fixed('ACK_SYNC', (r) => ({ kind: 'ackSync', generation: r.u32('generation') }));
    case BaseMsgc.ack:
      return fixed('ACK', () => ({ kind: 'ack' }));
    case BaseMsgc.pong:
      return fixed('PONG', (r) => ({ kind: 'pong', id: r.u32('id'), timestamp: r.u64('timestamp') }));
    case BaseMsgc.disconnecting:
      return fixed('DISCONNECTING', (r) => ({ kind: 'disconnecting', timeStamp: r.u64('time_stamp'), reason: r.u32('reason') }));
    default:
      return undefined;
  }
}

/** Decodes a fixed-size client message body, rejecting trailing bytes (servers are strict about client sizes). */
export function decodeFixed<T>(body: Uint8Array, what: string, read: (r: ByteReader) => T): Decoded<T> {
  return decodeWith(() => {
    const r = new ByteReader(body, what);
    const value = read(r);
    r.end();
    return value;
  });
}
