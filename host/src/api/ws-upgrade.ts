/**
 * A hub Listener that accepts WebSockets from an existing HTTP server (the API
 * server's Fastify instance) through its 'upgrade' event, so the page, its
 * assets and the hub endpoint share one port. The hub's own WsListener binds a
 * port of its own; connections are the hub's own WsConnection (same frame
 * limits, same error codes). Upgrades for other paths get 404 and are closed.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { WsConnection, type Listener, type MessageConnection } from '../hub/index.js';

export interface UpgradeWsListenerOptions {
  server: http.Server;
  /** URL path of the endpoint, e.g. "/ws". */
  path: string;
  maxFrameBytes: number;
  wsMaxPayloadBytes: number;
  /** For describe(): the base URL of the server, e.g. "ws://127.0.0.1:8080". */
  baseUrl: () => string;
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
        onConnection(new WsConnection(ws, `${s.remoteAddress ?? '?'}:${s.remotePort ?? 0}`, this.options.maxFrameBytes));
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
