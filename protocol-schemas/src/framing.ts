/**
 * Delimiter framing for byte streams: the line splitter under NDJSON (agent
 * protocol), QMP and QGA. Hand-written because it must be browser-safe, never
 * buffer more than `maxLineBytes`, and keep going after an oversized or broken
 * line, which no small library does all at once.
 */
import { AtpError } from './errors.js';

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
const LF = 0x0a;
const CR = 0x0d;

export type LineFramerOutput =
  | { kind: 'line'; bytes: Uint8Array }
  | { kind: 'error'; error: AtpError };

export interface LineFramerOptions {
  /** Largest line, delimiter excluded; a longer one is dropped up to its delimiter. */
  maxLineBytes?: number;
}

/**
 * Splits a byte stream on LF. A trailing CR is stripped (QMP uses CRLF). A line
 * longer than the limit yields one `ATP_FRAME_TOO_LARGE` error and is discarded
 * up to the next LF, after which framing carries on.
 */
export class LineFramer {
  readonly maxLineBytes: number;
  private parts: Uint8Array[] = [];
  private size = 0;
  private discarding = false;

  constructor(options: LineFramerOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes held for an unfinished line. */
  get buffered(): number {
    return this.size;
  }

  /** Forget any unfinished line (used after a resynchronisation marker). */
  reset(): void {
    this.parts = [];
    this.size = 0;
    this.discarding = false;
  }

  push(chunk: Uint8Array): LineFramerOutput[] {
    const out: LineFramerOutput[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      const end = nl === -1 ? chunk.length : nl;
      this.append(chunk.subarray(start, end), out);
      if (nl === -1) break;
      this.finishLine(out);
      start = nl + 1;
    }
    return out;
  }

  private append(piece: Uint8Array, out: LineFramerOutput[]): void {
    if (this.discarding || piece.length === 0) return;
    // One byte of slack for the CR that a CRLF line carries before its LF.
    if (this.size + piece.length > this.maxLineBytes + 1) {
      out.push({ kind: 'error', error: tooLarge(this.maxLineBytes) });
      this.parts = [];
      this.size = 0;
      this.discarding = true;
      return;
    }
    this.parts.push(piece.slice());
    this.size += piece.length;
  }

  private finishLine(out: LineFramerOutput[]): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    let line = concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    if (line.length > this.maxLineBytes) {
      out.push({ kind: 'error', error: tooLarge(this.maxLineBytes) });
      return;
    }
    out.push({ kind: 'line', bytes: line });
  }
}

function tooLarge(max: number): AtpError {
  return new AtpError('ATP_FRAME_TOO_LARGE', `frame exceeds the maximum of ${max} bytes; discarded up to the next newline`, {
    details: { maxBytes: max },
  });
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export type JsonFrameOutput =
  | { kind: 'value'; value: unknown }
  | { kind: 'error'; error: AtpError };

/**
 * Newline-delimited JSON on top of LineFramer: blank lines are skipped, invalid
 * UTF-8 or JSON yields a typed error for that line only.
 */
export class NdjsonDecoder {
  private readonly framer: LineFramer;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(options: LineFramerOptions = {}) {
    this.framer = new LineFramer(options);
  }

  get buffered(): number {
    return this.framer.buffered;
  }

  reset(): void {
    this.framer.reset();
  }

  push(chunk: Uint8Array): JsonFrameOutput[] {
    const out: JsonFrameOutput[] = [];
    for (const item of this.framer.push(chunk)) {
      if (item.kind === 'error') out.push(item);
      else {
        const decoded = decodeJsonLine(item.bytes, this.utf8);
        if (decoded !== undefined) out.push(decoded);
      }
    }
    return out;
  }
}

function decodeJsonLine(bytes: Uint8Array, utf8: TextDecoder): JsonFrameOutput | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    return { kind: 'error', error: new AtpError('ATP_FRAME_INVALID_UTF8', 'frame is not valid UTF-8', { cause }) };
  }
  if (text.trim() === '') return undefined;
  try {
    return { kind: 'value', value: JSON.parse(text) as unknown };
  } catch (cause) {
    return { kind: 'error', error: invalidJson(text, cause) };
  }
}

/**
 * ATP_FRAME_INVALID_JSON without the frame's text: a garbled hello holds a
 * token, and this error goes back to the peer and into logs. V8's message
 * quotes the input too, so only the position it names is kept.
 */
export function invalidJson(text: string, cause: unknown): AtpError {
  const position = /position (\d+)/.exec(cause instanceof Error ? cause.message : '')?.[1];
  const at = position === undefined ? '' : ` at character ${position}`;
  return new AtpError('ATP_FRAME_INVALID_JSON', `frame is not valid JSON${at} (${text.length} characters, not quoted: a frame may hold a secret)`, {
    details: { length: text.length, ...(position === undefined ? {} : { position: Number(position) }) },
  });
}

const utf8Encoder = new TextEncoder();

/** One NDJSON frame: the JSON text and a LF. Throws ATP_FRAME_TOO_LARGE past the limit, ATP_SCHEMA_INVALID for a value JSON cannot carry. */
export function encodeNdjson(value: unknown, maxLineBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value) as string | undefined;
  } catch (cause) {
    throw new AtpError('ATP_SCHEMA_INVALID', 'value cannot be encoded as JSON (cycle or BigInt)', { cause });
  }
  // JSON.stringify gives undefined for undefined, functions and symbols: no frame at all.
  if (text === undefined) throw new AtpError('ATP_SCHEMA_INVALID', `a ${typeof value} cannot be encoded as JSON`);
  const bytes = utf8Encoder.encode(`${text}\n`);
  if (bytes.length - 1 > maxLineBytes) {
    throw new AtpError('ATP_FRAME_TOO_LARGE', `frame of ${bytes.length - 1} bytes exceeds the maximum of ${maxLineBytes}`, {
      details: { maxBytes: maxLineBytes, size: bytes.length - 1 },
    });
  }
  return bytes;
}
