/**
 * A MessageConnection over a byte stream (TCP socket, virtio-serial chardev
 * socket): NDJSON through NdjsonDecoder and the hub's message codec
 * (message-codec.ts), out through encodeNdjson. A bad
 * frame is reported and decoding stops there: the session closes the
 * connection, so nothing after a broken frame is trusted. Against slow or
 * greedy senders it also caps the first frame (the hello: what a peer may make
 * the hub buffer before it authenticates) and says since when the frame it is
 * assembling has been unfinished (the hub cuts it past frameTimeoutMs).
 */
import { performance } from 'node:perf_hooks';
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

/** The error for a first frame (hello) past maxHelloBytes, on any transport. */
export function helloTooLarge(maxHelloBytes: number, size: number): AtpError {
  return new AtpError('ATP_FRAME_TOO_LARGE', `first frame (hello) of at least ${size} bytes exceeds the maximum of ${maxHelloBytes} before hello`, {
    details: { maxBytes: maxHelloBytes, size, frame: 'hello' },
  });
}

export interface StreamGuardOptions {
  /** Largest first frame (hello), bytes; the whole maxFrameBytes when unset. */
  maxHelloBytes?: number;
}

export class StreamConnection implements MessageConnection {
  readonly id: string;
  private handlers: ConnectionHandlers | undefined;
  private readonly early: Pending[] = [];
  private readonly decoder: NdjsonDecoder;
  private readonly source: string;
  /** No more messages are reported (bad frame, closing). */
  private stopped = false;
  private closedReported = false;
  /** Bytes of the first line so far, until its newline arrives (then undefined). */
  private firstLineBytes: number | undefined = 0;
  /** When the unfinished frame now buffered began (performance.now()), undefined when none is. */
  private partialStart: number | undefined;

  constructor(
    private readonly socket: Duplex,
    readonly transport: TransportKind,
    readonly remote: string,
    readonly persistent: boolean,
    private readonly maxFrameBytes: number,
    private readonly guard: StreamGuardOptions = {},
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
    // Cleared on close: a flood of refused sockets must not stay referenced by timers for the grace period.
    const grace = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    this.socket.once('close', () => clearTimeout(grace));
  }

  destroy(): void {
    this.stopped = true;
    this.socket.destroy();
  }

  /** Since when (performance.now()) the frame being assembled has been unfinished; undefined between frames. */
  partialSince(): number | undefined {
    return this.stopped ? undefined : this.partialStart;
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.emit({ kind: 'bytes', bytes: chunk.length });
    if (this.firstLineBytes !== undefined && !this.persistent) {
      const nl = chunk.indexOf(0x0a);
      const size = this.firstLineBytes + (nl === -1 ? chunk.length : nl);
      const max = this.guard.maxHelloBytes ?? this.maxFrameBytes;
      if (size > max) {
        this.emit({ kind: 'bad', error: helloTooLarge(max, size) });
        return;
      }
      this.firstLineBytes = nl === -1 ? size : undefined;
    }
    const before = this.decoder.buffered;
    const items = this.decoder.push(chunk);
    const after = this.decoder.buffered;
    if (after === 0) this.partialStart = undefined;
    else if (items.length > 0 || before === 0 || this.partialStart === undefined) this.partialStart = performance.now();
    for (const item of items) {
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
