/**
 * QMP codec: bytes ⇄ QMP messages. QMP is one JSON object per CRLF-terminated
 * line, so decoding is @atp/protocol's NdjsonDecoder plus the classification in
 * messages.ts. Hand-written because no maintained library speaks QMP from
 * TypeScript with bounded buffering and typed, non-fatal errors. Pure: no I/O.
 *
 * Every decoding failure (oversize line, bad UTF-8, bad JSON, non-QMP value)
 * comes out as one ATP_QMP_PROTOCOL error whose `details.reason` names the
 * framing code (e.g. ATP_FRAME_TOO_LARGE) when framing was the cause; decoding
 * then carries on with the next line.
 */
import { AtpError, DEFAULT_MAX_FRAME_BYTES, NdjsonDecoder, encodeNdjson } from '@atp/protocol';
import { classifyQmpValue, type QmpClassified } from './messages.js';

export type QmpDecoded = QmpClassified;

export interface QmpDecoderOptions {
  /** Largest line QEMU may send, CRLF excluded (default 1 MiB). */
  maxLineBytes?: number;
}

export class QmpDecoder {
  private readonly lines: NdjsonDecoder;

  constructor(options: QmpDecoderOptions = {}) {
    this.lines = new NdjsonDecoder({ maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_FRAME_BYTES });
  }

  /** Bytes held for an unfinished line. */
  get buffered(): number {
    return this.lines.buffered;
  }

  /** Forget any unfinished line (after a reconnect). */
  reset(): void {
    this.lines.reset();
  }

  /** Decodes one chunk; never throws on bad input. */
  push(chunk: Uint8Array): QmpDecoded[] {
    const out: QmpDecoded[] = [];
    for (const item of this.lines.push(chunk)) {
      if (item.kind === 'value') out.push(classifyQmpValue(item.value));
      else out.push({ kind: 'error', error: asProtocolError(item.error) });
    }
    return out;
  }
}

function asProtocolError(frameError: AtpError): AtpError {
  return new AtpError('ATP_QMP_PROTOCOL', `QEMU sent an undecodable line: ${frameError.message}`, {
    cause: frameError,
    details: { ...frameError.details, reason: frameError.code },
  });
}

export interface QmpCommandFrame {
  /** The QMP command name, e.g. 'query-status'. */
  command: string;
  arguments?: Record<string, unknown>;
  id?: number | string;
  /** Send as `exec-oob` (needs the 'oob' capability negotiated). */
  oob?: boolean;
}

/** One command as bytes: `{"execute"|"exec-oob": name, "arguments"?: …, "id"?: …}` and a newline. */
export function encodeQmpCommand(frame: QmpCommandFrame, maxLineBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  const message: Record<string, unknown> = { [frame.oob ? 'exec-oob' : 'execute']: frame.command };
  if (frame.arguments !== undefined) message.arguments = frame.arguments;
  if (frame.id !== undefined) message.id = frame.id;
  return encodeNdjson(message, maxLineBytes);
}
