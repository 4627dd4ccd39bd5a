/**
 * WebSocket listener for agents and web-verifier pages: one JSON message per
 * text frame. `ws` enforces wsMaxPayloadBytes itself (close code 1009, no room
 * for an error message); frames between maxFrameBytes and that get a proper
 * ATP_FRAME_TOO_LARGE error message. Text-frame UTF-8 is checked by `ws` (close
 * code 1007); both are still reported as bad frames so they are counted.
 * Given the raw socket (WsListener does), a connection also caps what it
 * receives before its first message (the hello, maxHelloBytes) and says since
 * when a frame has been arriving unfinished, so the hub can cut slow senders.
 */
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { AtpError, invalidJson, type AgentMessage } from '@atp/protocol';
import { toAgentMessage } from './message-codec.js';
import { CLOSE_GRACE_MS, connectionId, helloTooLarge, listenError } from './stream-connection.js';
import type { ConnectionHandlers, Listener, MessageConnection } from './types.js';

export interface WsListenerOptions {
  host?: string;
  port?: number;
  /** URL path to accept; any path when unset. */
  path?: string;
  maxFrameBytes: number;
  wsMaxPayloadBytes: number;
  /** Largest first frame (hello), bytes; maxFrameBytes when unset. */
  maxHelloBytes?: number;
}

/** What a WsConnection watches on the socket under the WebSocket (optional: the API's same-port endpoint passes none). */
export interface WsGuardOptions {
  raw?: Duplex;
  maxHelloBytes?: number;
}

/** Room for WebSocket frame headers and control frames in the bytes counted before hello. */
const HELLO_FRAMING_SLACK = 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Decodes one text frame into a message; throws the AtpError that names what is wrong. */
export function decodeWsFrame(bytes: Buffer, isBinary: boolean, maxFrameBytes: number, source: string): AgentMessage {
  if (isBinary) throw new AtpError('ATP_HUB_FRAME', 'binary WebSocket frames are not accepted: send one JSON message per text frame');
  if (bytes.length > maxFrameBytes) {
    throw new AtpError('ATP_FRAME_TOO_LARGE', `frame of ${bytes.length} bytes exceeds the maximum of ${maxFrameBytes}`, {
      details: { maxBytes: maxFrameBytes, size: bytes.length },
    });
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    throw new AtpError('ATP_FRAME_INVALID_UTF8', 'frame is not valid UTF-8', { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw invalidJson(text, cause);
  }
  return toAgentMessage(value, source);
}

function wsErrorToAtp(error: Error): AtpError {
  const code = (error as Error & { code?: unknown }).code;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return new AtpError('ATP_FRAME_TOO_LARGE', error.message, { cause: error });
  if (code === 'WS_ERR_INVALID_UTF8') return new AtpError('ATP_FRAME_INVALID_UTF8', error.message, { cause: error });
  return new AtpError('ATP_HUB_FRAME', `WebSocket error: ${error.message}`, { cause: error, details: { wsCode: String(code) } });
}

/** One WebSocket as a hub MessageConnection; also used by the API server's same-port endpoint. */
export class WsConnection implements MessageConnection {
  readonly id = connectionId('ws');
  readonly transport = 'ws' as const;
  readonly persistent = false;
  private handlers: ConnectionHandlers | undefined;
  private stopped = false;
  /** Raw bytes received before the first message (undefined once it came). */
  private beforeHello: number | undefined = 0;
  /** When raw bytes of a frame not yet complete began arriving (performance.now()). */
  private partialStart: number | undefined;

  constructor(
    private readonly socket: WebSocket,
    readonly remote: string,
    private readonly maxFrameBytes: number,
    guard: WsGuardOptions = {},
  ) {
    const maxHelloBytes = guard.maxHelloBytes ?? maxFrameBytes;
    // Prepended: runs before `ws` parses the chunk, so a frame it completes clears the mark right after.
    const raw = guard.raw;
    raw?.prependListener('data', (chunk: Buffer) => {
      // `ws` would keep buffering the frame up to wsMaxPayloadBytes: past the hello cap, stop reading (the error still goes out).
      if (!this.onRaw(chunk.length, maxHelloBytes)) raw.pause();
    });
    const complete = (): void => {
      this.partialStart = undefined;
    };
    socket.on('ping', complete);
    socket.on('pong', complete);
    socket.on('message', (data, isBinary) => {
      complete();
      this.beforeHello = undefined;
      this.onFrame(toBuffer(data), isBinary);
    });
    socket.on('error', (error) => this.bad(wsErrorToAtp(error)));
    socket.on('close', () => {
      this.stopped = true;
      this.handlers?.closed();
    });
  }

  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  send(message: AgentMessage): number {
    if (this.socket.readyState !== this.socket.OPEN) return 0;
    const text = JSON.stringify(message);
    this.socket.send(text);
    return Buffer.byteLength(text);
  }

  close(): void {
    this.stopped = true;
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) this.socket.close(1000);
    const grace = setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
    this.socket.once('close', () => clearTimeout(grace));
  }

  destroy(): void {
    this.stopped = true;
    this.socket.terminate();
  }

  partialSince(): number | undefined {
    return this.stopped ? undefined : this.partialStart;
  }

  /** Notes raw bytes; false once what came before hello is past the cap (the connection is then failed). */
  private onRaw(bytes: number, maxHelloBytes: number): boolean {
    if (this.stopped) return this.beforeHello === undefined || this.beforeHello <= maxHelloBytes + HELLO_FRAMING_SLACK;
    this.partialStart ??= performance.now();
    if (this.beforeHello === undefined) return true;
    this.beforeHello += bytes;
    if (this.beforeHello <= maxHelloBytes + HELLO_FRAMING_SLACK) return true;
    this.bad(helloTooLarge(maxHelloBytes, this.beforeHello));
    return false;
  }

  private onFrame(bytes: Buffer, isBinary: boolean): void {
    if (this.stopped) return;
    this.handlers?.received(bytes.length);
    let message: AgentMessage;
    try {
      message = decodeWsFrame(bytes, isBinary, this.maxFrameBytes, `ws ${this.remote}`);
    } catch (error) {
      if (!(error instanceof AtpError)) throw error;
      this.bad(error);
      return;
    }
    this.handlers?.message(message);
  }

  private bad(error: AtpError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.handlers?.badFrame(error);
  }
}

export class WsListener implements Listener {
  readonly kind = 'ws' as const;
  private server: WebSocketServer | undefined;
  private boundPort = 0;

  constructor(private readonly options: WsListenerOptions) {}

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  describe(): string {
    return `ws://${this.host}:${this.boundPort}${this.options.path ?? '/'}`;
  }

  async start(onConnection: (connection: MessageConnection) => void): Promise<void> {
    const server = new WebSocketServer({
      host: this.host,
      port: this.options.port ?? 0,
      maxPayload: this.options.wsMaxPayloadBytes,
      perMessageDeflate: false,
      ...(this.options.path === undefined ? {} : { path: this.options.path }),
    });
    this.server = server;
    server.on('connection', (socket: WebSocket, request: http.IncomingMessage) => {
      const s = request.socket;
      s.setNoDelay(true);
      const { maxFrameBytes, maxHelloBytes } = this.options;
      onConnection(new WsConnection(socket, `${s.remoteAddress ?? '?'}:${s.remotePort ?? 0}`, maxFrameBytes, { raw: s, ...(maxHelloBytes === undefined ? {} : { maxHelloBytes }) }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', (cause) => reject(listenError(`cannot listen on ${this.host}:${this.options.port ?? 0}`, cause)));
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : 0;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
