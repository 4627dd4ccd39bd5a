/**
 * RFB messages after the handshake, both directions, bytes <-> values
 * (rfbproto.rst "Client to Server Messages", "Server to Client Messages",
 * "Encodings"; the QEMU client message from QEMU's extension). Pure;
 * hand-written (see wire-codec.ts).
 *
 * The client sends SetEncodings, FramebufferUpdateRequest, KeyEvent,
 * PointerEvent and the QEMU extended key event (type 255, subtype 0: down
 * flag, keysym, XT keycode with E0-prefixed codes folded into bit 0x80, i.e.
 * QEMU's "qnum" numbering). It never asks for pixels beyond one update (QEMU
 * answers a 1x1 request with the whole screen), so pixels are skipped, never
 * decoded: Raw by its size, ZRLE by its length prefix (announced first, so a
 * blank 1080p screen costs a few hundred bytes, not 8 MB); of the
 * pseudo-encodings, the ones
 * this client announces (ENCODINGS) plus LastRect, PointerTypeChange and
 * ExtendedDesktopSize. Any other encoding cannot be skipped (its length is
 * unknown) and is a protocol error.
 */
import type { AtpError } from '@atp/protocol';
import { decodeWith, latin1Bytes, latin1Text, malformed, Writer, type Decoded, type Reader } from './wire-codec.js';

export const ENCODING = {
  raw: 0,
  zrle: 16,
  desktopSize: -223,
  lastRect: -224,
  pointerTypeChange: -257,
  qemuExtendedKeyEvent: -258,
  ledState: -261,
  extendedDesktopSize: -308,
} as const;

/** Largest Raw rectangle accepted (a 5120x2160 surface at 32 bpp is 44 MB). */
export const MAX_RECT_BYTES = 128 * 1024 * 1024;

/** Largest ServerCutText accepted (beyond it the stream is treated as malformed). */
export const MAX_CUT_TEXT_BYTES = 16 * 1024 * 1024;

export type ClientMessage =
  | { type: 'setEncodings'; encodings: number[] }
  | { type: 'framebufferUpdateRequest'; incremental: boolean; x: number; y: number; width: number; height: number }
  | { type: 'keyEvent'; down: boolean; keysym: number }
  | { type: 'pointerEvent'; buttonMask: number; x: number; y: number }
  /** QEMU client message 255 / subtype 0. `keycode`: XT code, 0xE0-prefixed codes as 0x80 | code. */
  | { type: 'qemuExtendedKeyEvent'; down: boolean; keysym: number; keycode: number };

export function encodeClientMessage(m: ClientMessage): Uint8Array {
  const w = new Writer();
  switch (m.type) {
    case 'setEncodings':
      w.u8(2).u8(0).u16(m.encodings.length);
      for (const e of m.encodings) w.s32(e);
      break;
    case 'framebufferUpdateRequest':
      w.u8(3).u8(m.incremental ? 1 : 0).u16(m.x).u16(m.y).u16(m.width).u16(m.height);
      break;
    case 'keyEvent':
      w.u8(4).u8(m.down ? 1 : 0).zeros(2).u32(m.keysym);
      break;
    case 'pointerEvent':
      w.u8(5).u8(m.buttonMask).u16(m.x).u16(m.y);
      break;
    case 'qemuExtendedKeyEvent':
      w.u8(255).u8(0).u16(m.down ? 1 : 0).u32(m.keysym).u32(m.keycode);
      break;
  }
  return w.finish();
}

/** Several client messages as one buffer (one socket write). */
export function encodeClientMessages(messages: readonly ClientMessage[]): Uint8Array {
  const parts = messages.map(encodeClientMessage);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The server's side of the client messages above (for round trips and test servers). */
export function decodeClientMessage(bytes: Uint8Array): Decoded<ClientMessage> {
  return decodeWith(bytes, (r): ClientMessage => {
    const type = r.u8();
    switch (type) {
      case 2: {
        r.skip(1);
        const n = r.u16();
        return { type: 'setEncodings', encodings: Array.from({ length: n }, () => r.s32()) };
      }
      case 3:
        return { type: 'framebufferUpdateRequest', incremental: r.u8() !== 0, x: r.u16(), y: r.u16(), width: r.u16(), height: r.u16() };
      case 4: {
        const down = r.u8() !== 0;
        r.skip(2);
        return { type: 'keyEvent', down, keysym: r.u32() };
      }
      case 5:
        return { type: 'pointerEvent', buttonMask: r.u8(), x: r.u16(), y: r.u16() };
      case 255: {
        const subtype = r.u8();
        if (subtype !== 0) malformed(`QEMU client message subtype ${subtype} is not the extended key event (0)`, { field: 'submessage-type', got: subtype });
        return { type: 'qemuExtendedKeyEvent', down: r.u16() !== 0, keysym: r.u32(), keycode: r.u32() };
      }
      default:
        return malformed(`client message type ${type} is not one this codec knows`, { field: 'message-type', got: type });
    }
  });
}

export interface ScreenLayout {
  id: number;
  x: number;
  y: number;
  width: number;
  height: number;
  flags: number;
}

/** One FramebufferUpdate rectangle; `pixels` for Raw (and ZRLE's compressed bytes, undecoded), `screens` for ExtendedDesktopSize, `leds` for LED state. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
  encoding: number;
  pixels?: Uint8Array;
  screens?: ScreenLayout[];
  leds?: number;
}

export type ServerMessage =
  | { type: 'framebufferUpdate'; rects: Rect[] }
  | { type: 'setColourMapEntries'; firstColour: number; colours: { red: number; green: number; blue: number }[] }
  | { type: 'bell' }
  | { type: 'serverCutText'; text: string };

export interface ServerDecodeContext {
  /** From the pixel format in force (ServerInit's; this client never changes it). */
  bytesPerPixel: number;
}

function rectPayloadWriter(w: Writer, rect: Rect, context: ServerDecodeContext): void {
  if (rect.encoding === ENCODING.raw) {
    w.raw(rect.pixels ?? new Uint8Array(rect.width * rect.height * context.bytesPerPixel));
  } else if (rect.encoding === ENCODING.zrle) {
    const data = rect.pixels ?? new Uint8Array(0);
    w.u32(data.byteLength).raw(data);
  } else if (rect.encoding === ENCODING.extendedDesktopSize) {
    const screens = rect.screens ?? [];
    w.u8(screens.length).zeros(3);
    for (const s of screens) w.u32(s.id).u16(s.x).u16(s.y).u16(s.width).u16(s.height).u32(s.flags);
  } else if (rect.encoding === ENCODING.ledState) {
    w.u8(rect.leds ?? 0);
  }
}

export function encodeServerMessage(m: ServerMessage, context: ServerDecodeContext): Uint8Array {
  const w = new Writer();
  switch (m.type) {
    case 'framebufferUpdate':
      w.u8(0).u8(0).u16(m.rects.length);
      for (const rect of m.rects) {
        w.u16(rect.x).u16(rect.y).u16(rect.width).u16(rect.height).s32(rect.encoding);
        rectPayloadWriter(w, rect, context);
      }
      break;
    case 'setColourMapEntries':
      w.u8(1).u8(0).u16(m.firstColour).u16(m.colours.length);
      for (const c of m.colours) w.u16(c.red).u16(c.green).u16(c.blue);
      break;
    case 'bell':
      w.u8(2);
      break;
    case 'serverCutText': {
      const text = latin1Bytes(m.text, 'serverCutText.text');
      w.u8(3).zeros(3).u32(text.byteLength).raw(text);
      break;
    }
  }
  return w.finish();
}

function readRect(r: Reader, index: number, context: ServerDecodeContext): Rect {
  const rect: Rect = { x: r.u16(), y: r.u16(), width: r.u16(), height: r.u16(), encoding: r.s32() };
  switch (rect.encoding) {
    case ENCODING.raw: {
      const size = rect.width * rect.height * context.bytesPerPixel;
      if (size > MAX_RECT_BYTES) malformed(`FramebufferUpdate rectangle ${index} (Raw ${rect.width}x${rect.height}) is ${size} bytes, more than ${MAX_RECT_BYTES}`, { field: 'rect', got: size, rect: index });
      rect.pixels = r.bytesOf(size);
      break;
    }
    case ENCODING.zrle: {
      const size = r.u32();
      if (size > MAX_RECT_BYTES) malformed(`FramebufferUpdate rectangle ${index} (ZRLE) claims ${size} bytes, more than ${MAX_RECT_BYTES}`, { field: 'rect', got: size, rect: index });
      rect.pixels = r.bytesOf(size);
      break;
    }
    case ENCODING.extendedDesktopSize: {
      const n = r.u8();
      r.skip(3);
      rect.screens = Array.from({ length: n }, () => ({ id: r.u32(), x: r.u16(), y: r.u16(), width: r.u16(), height: r.u16(), flags: r.u32() }));
      break;
    }
    case ENCODING.ledState:
      rect.leds = r.u8();
      break;
    case ENCODING.desktopSize:
    case ENCODING.lastRect:
    case ENCODING.pointerTypeChange:
    case ENCODING.qemuExtendedKeyEvent:
      break;
    default:
      malformed(`FramebufferUpdate rectangle ${index} has encoding ${rect.encoding}, which this client did not announce and cannot skip`, { field: 'encoding-type', got: rect.encoding, rect: index });
  }
  return rect;
}

export function decodeServerMessage(bytes: Uint8Array, context: ServerDecodeContext): Decoded<ServerMessage> {
  return decodeWith(bytes, (r): ServerMessage => {
    const type = r.u8();
    switch (type) {
      case 0: {
        r.skip(1);
        const count = r.u16();
        const rects: Rect[] = [];
        for (let i = 0; i < count; i++) {
          const rect = readRect(r, i, context);
          rects.push(rect);
          if (rect.encoding === ENCODING.lastRect) break;
        }
        return { type: 'framebufferUpdate', rects };
      }
      case 1: {
        r.skip(1);
        const firstColour = r.u16();
        const n = r.u16();
        return { type: 'setColourMapEntries', firstColour, colours: Array.from({ length: n }, () => ({ red: r.u16(), green: r.u16(), blue: r.u16() })) };
      }
      case 2:
        return { type: 'bell' };
      case 3: {
        r.skip(3);
        const length = r.u32();
        if (length > MAX_CUT_TEXT_BYTES) malformed(`ServerCutText is ${length} bytes, more than ${MAX_CUT_TEXT_BYTES}`, { field: 'length', got: length });
        return { type: 'serverCutText', text: latin1Text(r.bytesOf(length)) };
      }
      default:
        return malformed(`server message type ${type} is not one an RFB 3.8 client without extensions accepts`, { field: 'message-type', got: type });
    }
  });
}

export type ServerStreamItem = { kind: 'message'; message: ServerMessage } | { kind: 'error'; error: AtpError };

/**
 * Splits a byte stream into server messages. After the first error the stream
 * is out of step and the decoder yields nothing more (the connection must go).
 * Chunks are kept as they come and joined only once the front message's known
 * need (the decoder's `more`) has arrived: a message announcing megabytes and
 * arriving in small chunks costs one copy, not one copy and one decode per chunk.
 */
export class ServerMessageDecoder {
  private chunks: Uint8Array[] = [];
  private size = 0;
  /** Bytes the front message needs before decoding it again can succeed. */
  private need = 0;
  private failed = false;

  constructor(private readonly context: ServerDecodeContext) {}

  get buffered(): number {
    return this.size;
  }

  push(chunk: Uint8Array): ServerStreamItem[] {
    if (this.failed) return [];
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk.slice());
      this.size += chunk.byteLength;
    }
    const out: ServerStreamItem[] = [];
    if (this.size === 0 || this.size < this.need) return out;
    let buffer = this.chunks.length === 1 ? (this.chunks[0] ?? new Uint8Array(0)) : joinChunks(this.chunks, this.size);
    this.need = 0;
    while (buffer.byteLength > 0) {
      const d = decodeServerMessage(buffer, this.context);
      if (d.kind === 'more') {
        this.need = d.need;
        break;
      }
      if (d.kind === 'error') {
        this.failed = true;
        buffer = new Uint8Array(0);
        out.push({ kind: 'error', error: d.error });
        break;
      }
      out.push({ kind: 'message', message: d.value });
      buffer = buffer.subarray(d.size);
    }
    this.chunks = buffer.byteLength === 0 ? [] : [buffer];
    this.size = buffer.byteLength;
    return out;
  }
}

function joinChunks(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
