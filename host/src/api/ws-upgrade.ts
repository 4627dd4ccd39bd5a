/**
 * WebSocket upgrades on the API server's one port. `UpgradeRouter` owns the
 * HTTP server's 'upgrade' event and hands each upgrade to the handler of its
 * path (the hub's /ws, the live events' /api/v1/events); any other path gets
 * 404 before the handshake. `refuseUpgrade` answers an upgrade with a plain
 * HTTP status (and an optional JSON body) and closes the socket.
 *
 * `UpgradeWsListener` is a hub Listener on that router: the page, its assets
 * and the hub endpoint share one port. The hub's own WsListener binds a port
 * of its own; connections here are the hub's own WsConnection (same frame
 * limits, same error codes).
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { WsConnection, type Listener, type MessageConnection } from '../hub/index.js';

export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Answers an upgrade request with `status` (no handshake) and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, body?: unknown): void {
  socket.on('error', () => undefined);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const text = body === undefined ? '' : JSON.stringify(body);
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, 'Connection: close', `Content-Length: ${Buffer.byteLength(text)}`, 'Cache-Control: no-store'];
  if (body !== undefined) head.push('Content-Type: application/json; charset=utf-8');
  socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
}

export const upgradePath = (request: IncomingMessage): string => new URL(request.url ?? '/', 'http://x').pathname;

export class UpgradeRouter {
  private readonly routes = new Map<string, UpgradeHandler>();
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let path: string;
    try {
      path = upgradePath(request);
    } catch {
      refuseUpgrade(socket, 400);
      return;
    }
    const handler = this.routes.get(path);
    if (handler === undefined) refuseUpgrade(socket, 404);
    else handler(request, socket, head);
  };

  constructor(private readonly server: Server) {
    server.on('upgrade', this.onUpgrade);
  }

  /** Routes upgrades of `path` to `handler` until the returned function is called. */
  add(path: string, handler: UpgradeHandler): () => void {
    if (this.routes.has(path)) throw new Error(`an upgrade handler for ${path} is already registered`);
    this.routes.set(path, handler);
    return () => {
      if (this.routes.get(path) === handler) this.routes.delete(path);
    };
  }

  close(): void {
    this.server.off('upgrade', this.onUpgrade);
    this.routes.clear();
  }
}

export interface UpgradeWsListenerOptions {
  router: UpgradeRouter;
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
  private unroute: (() => void) | undefined;

  constructor(private readonly options: UpgradeWsListenerOptions) {}

  describe(): string {
    return `${this.options.baseUrl()}${this.options.path}`;
  }

  start(onConnection: (connection: MessageConnection) => void): Promise<void> {
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.options.wsMaxPayloadBytes, perMessageDeflate: false });
    this.wss = wss;
    this.unroute = this.options.router.add(this.options.path, (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => {
        const s = request.socket;
        s.setNoDelay(true);
        onConnection(new WsConnection(ws, `${s.remoteAddress ?? '?'}:${s.remotePort ?? 0}`, this.options.maxFrameBytes));
      });
    });
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
    this.unroute?.();
    this.unroute = undefined;
    const wss = this.wss;
    this.wss = undefined;
    if (wss === undefined) return;
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}
