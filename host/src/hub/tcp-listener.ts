/** TCP listener for agents: one NDJSON stream per connection, Nagle off, 127.0.0.1 by default. */
import net from 'node:net';
import { StreamConnection, listenError } from './stream-connection.js';
import type { Listener, MessageConnection } from './types.js';

export interface TcpListenerOptions {
  host?: string;
  /** 0 picks a free port; read it from `port` after start(). */
  port?: number;
  maxFrameBytes: number;
  /** Largest first frame (hello), bytes; maxFrameBytes when unset. */
  maxHelloBytes?: number;
}

export class TcpListener implements Listener {
  readonly kind = 'tcp' as const;
  private readonly server = net.createServer({ noDelay: true });
  private readonly sockets = new Set<net.Socket>();
  private boundPort = 0;

  constructor(private readonly options: TcpListenerOptions) {}

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  describe(): string {
    return `tcp://${this.host}:${this.boundPort}`;
  }

  async start(onConnection: (connection: MessageConnection) => void): Promise<void> {
    this.server.on('connection', (socket) => {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
      const { maxFrameBytes, maxHelloBytes } = this.options;
      onConnection(new StreamConnection(socket, 'tcp', remote, false, maxFrameBytes, maxHelloBytes === undefined ? {} : { maxHelloBytes }));
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (cause) => reject(listenError(`cannot listen on ${this.host}:${this.options.port ?? 0}`, cause)));
      this.server.listen({ host: this.host, port: this.options.port ?? 0 }, () => resolve());
    });
    const address = this.server.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : 0;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await closed;
  }
}
