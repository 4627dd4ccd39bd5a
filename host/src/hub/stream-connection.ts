/**
 * A MessageConnection over a byte stream (TCP socket, virtio-serial chardev
 * socket): NDJSON through NdjsonDecoder and the hub's message codec
 * (message-codec.ts), out through encodeNdjson. A bad
 * frame is reported and decoding stops there: the session closes the
 * connection, so nothing after a broken frame is trusted.
 */
import type { Duplex } from 'node:stream';
import { AtpError, NdjsonDecoder, encodeNdjson, type AgentMessage } from '@atp/protocol';
import { toAgentMessage } from './message-codec.js';
import type { ConnectionHandlers, MessageConnection, TransportKind } from './types.js';

/** How long close() waits for the peer to take the queued bytes before destroying the socket. */
export const CLOSE_GRACE_MS = 2000;
let counter = 0;

export function connectionId(kind: TransportKind): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${kind}-${process.pid.toString(36)}-${counter.toString(36)}`;
}

type Pending = { kind: 'bytes'; bytes: number } | { kind: 'message'; message: AgentMessage } | { kind: 'bad'; error: AtpError };

export class StreamConnection implements MessageConnection {
  readonly id: string;
  private handlers: ConnectionHandlers | undefined;
  private readonly early: Pending[] = [];
  private readonly decoder: NdjsonDecoder;
  private readonly source: string;
  /** No more messages are reported (bad frame, closing). */
  private stopped = false;
  private closedReported = false;

  constructor(
    private readonly socket: Duplex,
    readonly transport: TransportKind,
    readonly remote: string,
    readonly persistent: boolean,
    private readonly maxFrameBytes: number,
  ) {
    this.id = connectionId(transport);
    this.decoder = new NdjsonDecoder({ maxLineBytes: maxFrameBytes });
    this.source = `${transport} ${remote}`;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.reportClosed());
  }

  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    for (const p of this.early.splice(0)) this.dispatch(p);
  }

  send(message: AgentMessage): number {
    if (this.socket.destroyed || this.socket.writableEnded) return 0;
    // Outgoing messages are typed at compile time (the session builds them); no second zod pass per message.
    const bytes = encodeNdjson(message, this.maxFrameBytes);
    this.socket.write(bytes);
    return bytes.length;
  }

  close(): void {
    if (this.socket.destroyed) return;
    this.stopped = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  destroy(): void {
    this.stopped = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.emit({ kind: 'bytes', bytes: chunk.length });
    for (const item of this.decoder.push(chunk)) {
      if (this.stopped) return;
      this.emit(item.kind === 'value' ? this.decode(item.value) : { kind: 'bad', error: item.error });
    }
  }

  private decode(value: unknown): Pending {
    try {
      return { kind: 'message', message: toAgentMessage(value, this.source) };
    } catch (error) {
      if (!(error instanceof AtpError)) throw error;
      return { kind: 'bad', error };
    }
  }

  private emit(p: Pending): void {
    if (this.handlers === undefined) this.early.push(p);
    else this.dispatch(p);
  }

  private dispatch(p: Pending): void {
    if (p.kind === 'bytes') this.handlers?.received(p.bytes);
    else if (p.kind === 'message') this.handlers?.message(p.message);
    else {
      this.stopped = true;
      this.handlers?.badFrame(p.error);
    }
  }

  private reportClosed(): void {
    if (this.closedReported) return;
    this.closedReported = true;
    this.stopped = true;
    this.handlers?.closed();
  }
}

export function listenError(what: string, cause: unknown): AtpError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new AtpError('ATP_HUB_LISTEN', `${what}: ${message}`, { cause });
}
