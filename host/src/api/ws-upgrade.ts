/**
 * A hub Listener that accepts WebSockets from an existing HTTP server (the API
 * server's Fastify instance) through its 'upgrade' event, so the page, its
 * assets and the hub endpoint share one port. The hub's own WsListener binds a
 * port of its own and does not export its connection class, so this file has
 * its own small MessageConnection over `ws`, decoding frames with the hub's
 * decodeWsFrame (same limits, same error codes). Upgrades for other paths get
 * 404 and are closed.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { AtpError, type AgentMessage } from '@atp/protocol';
import { CLOSE_GRACE_MS, connectionId, decodeWsFrame, type ConnectionHandlers, type Listener, type MessageConnection } from '../hub/index.js';

export interface UpgradeWsListenerOptions {
  server: http.Server;
  /** URL path of the endpoint, e.g. "/ws". */
  path: string;
  maxFrameBytes: number;
  wsMaxPayloadBytes: number;
  /** For describe(): the base URL of the server, e.g. "ws://127.0.0.1:8080". */
  baseUrl: () => string;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** `ws` rejects oversized and non-UTF-8 frames itself; keep the hub's codes for them. */
function wsErrorToAtp(error: Error): AtpError {
  const code = (error as Error & { code?: unknown }).code;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return new AtpError('ATP_FRAME_TOO_LARGE', error.message, { cause: error });
  if (code === 'WS_ERR_INVALID_UTF8') return new AtpError('ATP_FRAME_INVALID_UTF8', error.message, { cause: error });
  return new AtpError('ATP_HUB_FRAME', `WebSocket error: ${error.message}`, { cause: error, details: { wsCode: String(code) } });
}

class UpgradedWsConnection implements MessageConnection {
  readonly id = connectionId('ws');
  readonly transport = 'ws' as const;
  readonly persistent = false;
  private handlers: ConnectionHandlers | undefined;
  private stopped = false;

  constructor(
    private readonly socket: WebSocket,
    readonly remote: string,
    private readonly maxFrameBytes: number,
  ) {
    socket.on('message', (data, isBinary) => this.onFrame(toBuffer(data), isBinary));
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
    setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  destroy(): void {
    this.stopped = true;
    this.socket.terminate();
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

export class UpgradeWsListener implements Listener {
  readonly kind = 'ws' as const;
  private wss: WebSocketServer | undefined;
  private onUpgrade: ((request: http.IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;

  constructor(private readonly options: UpgradeWsListenerOptions) {}

  describe(): string {
    return `${this.options.baseUrl()}${this.options.path}`;
  }

  start(onConnection: (connection: MessageConnection) => void): Promise<void> {
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.options.wsMaxPayloadBytes, perMessageDeflate: false });
    this.wss = wss;
    this.onUpgrade = (request, socket, head): void => {
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      if (path !== this.options.path) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        const s = request.socket;
        s.setNoDelay(true);
        onConnection(new UpgradedWsConnection(ws, `${s.remoteAddress ?? '?'}:${s.remotePort ?? 0}`, this.options.maxFrameBytes));
      });
    };
    this.options.server.on('upgrade', this.onUpgrade);
    return Promise.resolve();
  }

  /** Drops every WebSocket at once (the peers see the link cut and reconnect); the endpoint stays open. */
  dropConnections(): number {
    const clients = [...(this.wss?.clients ?? [])];
    for (const client of clients) client.terminate();
    return clients.length;
  }

  /** Idempotent: the server and the hub may both close it. */
  async close(): Promise<void> {
    if (this.onUpgrade !== undefined) this.options.server.off('upgrade', this.onUpgrade);
    this.onUpgrade = undefined;
    const wss = this.wss;
    this.wss = undefined;
    if (wss === undefined) return;
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}
