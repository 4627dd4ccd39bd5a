/**
 * QGA wire codec: bytes from the guest agent → replies, and commands → bytes.
 * Hand-written because QGA is newline-delimited JSON with one twist no library
 * handles: `guest-sync-delimited` makes the agent emit a 0xFF byte before its
 * reply, and any 0xFF (never valid in UTF-8 JSON) marks a point where the stream
 * starts over. Built on LineFramer; pure (no sockets, no timers).
 */
import { AtpError, LineFramer } from '@atp/protocol';
import { qgaReplyEnvelopeSchema } from './messages.js';

/** The resynchronisation byte: sent before guest-sync-delimited, echoed before its reply. */
export const QGA_DELIMITER = 0xff;

/**
 * Largest reply line accepted. A guest-exec-status reply may carry 16 MiB of stdout and
 * of stderr in base64 (about 43 MiB); qemu-ga's own JSON token limit is 64 MiB.
 */
export const QGA_MAX_REPLY_BYTES = 64 * 1024 * 1024;

export type QgaReply =
  | { kind: 'return'; value: unknown; id?: unknown }
  | { kind: 'error'; errorClass: string; desc: string; id?: unknown };

export type QgaDecoded =
  /** A 0xFF byte: whatever was buffered before it is dropped. */
  | { kind: 'delimiter' }
  /** A well-formed reply line; `bytes` is its size on the wire (LF included). */
  | { kind: 'reply'; reply: QgaReply; bytes: number }
  /** A line or partial line that was not a reply; `bytes` is a lower bound for oversized lines. */
  | { kind: 'discarded'; bytes: number; reason: AtpError };

export interface QgaDecoderOptions {
  maxLineBytes?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class QgaDecoder {
  private readonly framer: LineFramer;

  constructor(options: QgaDecoderOptions = {}) {
    this.framer = new LineFramer({ maxLineBytes: options.maxLineBytes ?? QGA_MAX_REPLY_BYTES });
  }

  /** Bytes held for an unfinished line. */
  get buffered(): number {
    return this.framer.buffered;
  }

  push(chunk: Uint8Array): QgaDecoded[] {
    const out: QgaDecoded[] = [];
    let start = 0;
    while (start <= chunk.length) {
      const ff = chunk.indexOf(QGA_DELIMITER, start);
      const end = ff === -1 ? chunk.length : ff;
      if (end > start) this.pushSegment(chunk.subarray(start, end), out);
      if (ff === -1) break;
      const partial = this.framer.buffered;
      this.framer.reset();
      if (partial > 0) {
        out.push({ kind: 'discarded', bytes: partial, reason: new AtpError('ATP_FRAME_INVALID_JSON', `partial line of ${partial} bytes cut by a 0xFF delimiter`, { details: { bytes: partial } }) });
      }
      out.push({ kind: 'delimiter' });
      start = ff + 1;
    }
    return out;
  }

  private pushSegment(segment: Uint8Array, out: QgaDecoded[]): void {
    for (const item of this.framer.push(segment)) {
      if (item.kind === 'error') {
        const max = this.framer.maxLineBytes;
        const reason = new AtpError(item.error.code, item.error.message, { cause: item.error, details: { ...item.error.details, bytes: max + 1, limit: max } });
        out.push({ kind: 'discarded', bytes: max + 1, reason });
      } else {
        const decoded = decodeReplyLine(item.bytes);
        if (decoded !== undefined) out.push(decoded);
      }
    }
  }
}

/** One complete line (LF stripped) → a reply, a discard, or nothing for a blank line. */
export function decodeReplyLine(bytes: Uint8Array): QgaDecoded | undefined {
  const size = bytes.length + 1;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    return { kind: 'discarded', bytes: size, reason: new AtpError('ATP_FRAME_INVALID_UTF8', `guest agent line of ${size} bytes is not valid UTF-8`, { cause, details: { bytes: size } }) };
  }
  if (text.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    return { kind: 'discarded', bytes: size, reason: new AtpError('ATP_FRAME_INVALID_JSON', `guest agent line is not JSON: ${preview(text)}`, { cause, details: { bytes: size, preview: preview(text) } }) };
  }
  const parsed = qgaReplyEnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    // A reply is a union (return | error): name what each branch missed.
    const flat = parsed.error.issues.flatMap((i) => (i.code === 'invalid_union' ? i.errors.flat() : [i]));
    const issues = preview(flat.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
    return {
      kind: 'discarded',
      bytes: size,
      reason: new AtpError('ATP_SCHEMA_INVALID', `guest agent line is not a reply (${issues}): ${preview(text)}`, { cause: parsed.error, details: { bytes: size, issues, preview: preview(text) } }),
    };
  }
  const v = parsed.data;
  const reply: QgaReply =
    'error' in v ? { kind: 'error', errorClass: v.error.class, desc: v.error.desc, id: v.id } : { kind: 'return', value: v.return, id: v.id };
  return { kind: 'reply', reply, bytes: size };
}

function preview(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

const encoder = new TextEncoder();

/** One command as a JSON line. `id` is echoed by qemu-ga ≥ 2.x and lets the client drop stale replies. */
export function encodeCommand(command: string, args?: Readonly<Record<string, unknown>>, id?: string): Uint8Array {
  const message: Record<string, unknown> = { execute: command };
  if (args !== undefined) message.arguments = args;
  if (id !== undefined) message.id = id;
  return encoder.encode(`${JSON.stringify(message)}\n`);
}

/**
 * The resync request: a 0xFF first (it flushes any half-parsed input on the agent's
 * side and provokes one parse-error reply), then guest-sync-delimited with `syncId`.
 */
export function encodeSyncDelimited(syncId: number, envelopeId?: string): Uint8Array {
  const body = encodeCommand('guest-sync-delimited', { id: syncId }, envelopeId);
  const out = new Uint8Array(body.length + 1);
  out[0] = QGA_DELIMITER;
  out.set(body, 1);
  return out;
}

/** The largest sync id: qemu-ga takes an int, and random ids stay well inside JSON's safe integers. */
export const QGA_MAX_SYNC_ID = 2 ** 31 - 1;
