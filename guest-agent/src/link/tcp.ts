/** TCP link: NDJSON over node:net with Nagle off (every message is small and latency is what we measure). */
import net from 'node:net';
import { AtpError } from '@atp/protocol';
import { streamConnection } from './byte-connection.js';
import type { ConnectOptions, Link, LinkConnection } from './types.js';

export interface TcpLinkOptions {
  host: string;
  port: number;
  connectTimeoutMs?: number;
  maxFrameBytes?: number;
}

/** "host:port" or "[v6]:port" → host and port; throws ATP_AGENT_CONFIG. */
export function parseHostPort(endpoint: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(endpoint.trim());
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (host === undefined || !(port >= 1 && port <= 65535)) {
    throw new AtpError('ATP_AGENT_CONFIG', `endpoint: expected host:port for a tcp link, got ${JSON.stringify(endpoint)}`, { details: { field: 'endpoint' } });
  }
  return { host, port };
}

export class TcpLink implements Link {
  readonly kind = 'tcp';
  readonly description: string;

  constructor(private readonly options: TcpLinkOptions) {
    this.description = `tcp://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  }

  connect(connectOptions: ConnectOptions = {}): Promise<LinkConnection> {
    const { host, port } = this.options;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host, port });
      const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      const fail = (cause: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(new AtpError('ATP_AGENT_CONNECT', `cannot connect to ${this.description}: ${cause.message}`, { cause, details: { endpoint: this.description } }));
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.setNoDelay(true);
        const conn = streamConnection({ description: this.description, reader: socket, ...(connectOptions.clock === undefined ? {} : { clock: connectOptions.clock }), ...(this.options.maxFrameBytes === undefined ? {} : { maxFrameBytes: this.options.maxFrameBytes }) });
        resolve(conn);
      });
    });
  }
}
