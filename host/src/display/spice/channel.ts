/**
 * One linked SPICE channel: frames in and out over its stream, and the chores
 * every channel shares, done here so owners only see their own messages:
 * - SET_ACK: answer ACK_SYNC with the generation, then send ACK after every
 *   `window` messages (the server stops sending when the client lags too far);
 * - PING: answer PONG with its id and timestamp;
 * - NOTIFY: handed to `onNotify`; DISCONNECTING: its reason is kept.
 *
 * `send` resolves once the frame's bytes are handed to the socket and calls
 * `beforeWrite` right before writing (callers stamp send times there). When
 * the stream ends, errors or carries bytes that do not decode, the channel
 * goes down once: `onDown` hears why, later sends reject with that error, and
 * nothing waits forever.
 */
import type net from 'node:net';
import { AtpError } from '@atp/protocol';
import { decodeBaseServerMessage, encodeBaseClientMessage, encodeFrame, FrameDecoder, type BaseClientMessage, type HeaderKind, type SpiceFrame } from './codec.js';
import { linkErrorName } from './constants.js';
import type { LinkedStream } from './link.js';

export interface ChannelEvents {
  /** Every message that is not a base message (SET_ACK, PING, NOTIFY, DISCONNECTING), in arrival order. */
  onFrame(frame: SpiceFrame): void;
  onNotify?(text: string, severity: number): void;
  /** Once, when the channel goes down; `byOwner` when close() was called. */
  onDown(error: AtpError, byOwner: boolean): void;
}

export class SpiceChannel {
  private readonly socket: net.Socket;
  private readonly header: HeaderKind;
  private readonly decoder: FrameDecoder;
  private serial = 0n;
  private ackWindow = 0;
  private sinceAck = 0;
  private downError: AtpError | undefined;
  /** The reason of a DISCONNECTING message, if the server sent one before closing. */
  disconnectReason: string | undefined;
  /** Messages received (all kinds), for diagnostics. */
  received = 0;

  constructor(
    linked: LinkedStream,
    readonly name: string,
    private readonly where: string,
    private readonly events: ChannelEvents,
  ) {
    this.socket = linked.socket;
    this.header = linked.header;
    this.decoder = new FrameDecoder(linked.header);
    this.socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    this.socket.on('end', () => this.goDown(this.closedError('closed the connection'), false));
    this.socket.on('close', () => this.goDown(this.closedError('closed the connection'), false));
    this.socket.on('error', (cause: Error) => this.goDown(this.closedError(`connection failed: ${cause.message}`, cause), false));
    this.socket.resume();
    if (linked.leftover.byteLength > 0) queueMicrotask(() => this.onBytes(linked.leftover));
  }

  get down(): AtpError | undefined {
    return this.downError;
  }

  /** Writes one message; `beforeWrite` runs right before the bytes go to the socket. Rejects with the channel's down error. */
  send(frame: SpiceFrame, beforeWrite?: () => void): Promise<void> {
    if (this.downError) return Promise.reject(this.downError);
    this.serial += 1n;
    const bytes = encodeFrame(this.header, frame.type, frame.body, this.serial);
    return new Promise((resolve, reject) => {
      beforeWrite?.();
      this.socket.write(bytes, (error) => {
        if (error === null || error === undefined) resolve();
        else reject(this.downError ?? this.closedError(`write failed: ${error.message}`, error));
      });
    });
  }

  close(): void {
    this.goDown(new AtpError('ATP_SPICE_CLOSED', `the SPICE ${this.name} channel to ${this.where} was closed by its owner`, { details: { endpoint: this.where, channel: this.name } }), true);
  }

  private closedError(what: string, cause?: unknown): AtpError {
    const reason = this.disconnectReason === undefined ? '' : ` after DISCONNECTING (${this.disconnectReason})`;
    return new AtpError('ATP_SPICE_CLOSED', `the SPICE server ${this.where} ${what} on the ${this.name} channel${reason}`, {
      ...(cause === undefined ? {} : { cause }),
      details: { endpoint: this.where, channel: this.name },
    });
  }

  private sendBase(message: BaseClientMessage): void {
    this.send(encodeBaseClientMessage(message)).catch(() => undefined);
  }

  private onBytes(chunk: Uint8Array): void {
    if (this.downError) return;
    for (const item of this.decoder.push(chunk)) {
      if (this.downError) return;
      if (item.kind === 'error') {
        this.failProtocol(item.error);
        return;
      }
      this.received += 1;
      this.onFrame(item.frame);
    }
  }

  private onFrame(frame: SpiceFrame): void {
    const base = decodeBaseServerMessage(frame.type, frame.body);
    if (base !== undefined && !base.ok) {
      this.failProtocol(base.error);
      return;
    }
    if (base?.ok && base.value.kind === 'setAck') {
      this.ackWindow = base.value.window;
      this.sinceAck = 0;
      this.sendBase({ kind: 'ackSync', generation: base.value.generation });
      return;
    }
    if (this.ackWindow > 0 && ++this.sinceAck >= this.ackWindow) {
      this.sinceAck = 0;
      this.sendBase({ kind: 'ack' });
    }
    if (base === undefined) {
      this.events.onFrame(frame);
      return;
    }
    const message = base.value;
    if (message.kind === 'ping') this.sendBase({ kind: 'pong', id: message.id, timestamp: message.timestamp });
    else if (message.kind === 'notify') this.events.onNotify?.(message.text, message.severity);
    else if (message.kind === 'disconnecting') this.disconnectReason = linkErrorName(message.reason);
  }

  /** The owner's decoder found a malformed message: the channel cannot go on. */
  failProtocol(error: AtpError): void {
    this.goDown(new AtpError('ATP_SPICE_PROTOCOL', `${error.message} (${this.name} channel, ${this.where})`, { cause: error, details: { ...error.details, endpoint: this.where, channel: this.name } }), false);
  }

  private goDown(error: AtpError, byOwner: boolean): void {
    if (this.downError) return;
    this.downError = error;
    this.socket.destroy();
    this.events.onDown(error, byOwner);
  }
}
