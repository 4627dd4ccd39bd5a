/**
 * WebSocket link (ws:// and wss://, the `ws` package): one agent message per
 * text frame, JSON, validated with the protocol schemas on both directions.
 */
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { AGENT_MAX_FRAME_BYTES, AtpError, parseAgentMessage } from '@atp/protocol';
import type { AgentDecodeItem, AgentMessage } from '@atp/protocol';
import { encodeForLink, toDisconnected } from './byte-connection.js';
import { Inbox } from './inbox.js';
import type { ConnectOptions, Link, LinkConnection, ReceivedItem } from './types.js';

export interface WsLinkOptions {
  url: string;
  connectTimeoutMs?: number;
  maxFrameBytes?: number;
  /** For wss:// with a private CA: PEM text. */
  ca?: string;
}

/** Checks a ws:// or wss:// URL; throws ATP_AGENT_CONFIG. */
export function parseWsUrl(endpoint: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'ws:' && url.protocol !== 'wss:')) {
    throw new AtpError('ATP_AGENT_CONFIG', `endpoint: expected a ws:// or wss:// URL for a ws link, got ${JSON.stringify(endpoint)}`, { details: { field: 'endpoint' } });
  }
  return url;
}

class WsConnection implements LinkConnection {
  readonly received = new Inbox<ReceivedItem>();
  readonly down: Promise<AtpError | undefined>;
  private resolveDown!: (error: AtpError | undefined) => void;
  private isDown = false;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(
    readonly description: string,
    private readonly socket: WebSocket,
    private readonly maxFrameBytes: number,
    private readonly clock: (() => number) | undefined,
  ) {
    this.down = new Promise((resolve) => {
      this.resolveDown = resolve;
    });
    socket.on('message', (data: RawData, isBinary: boolean) => this.onFrame(data, isBinary));
    socket.on('error', (cause) => this.goDown(new AtpError('ATP_AGENT_DISCONNECTED', `${description}: ${cause.message}`, { cause })));
    socket.on('close', (code, reason) =>
      this.goDown(new AtpError('ATP_AGENT_DISCONNECTED', `${description} closed the WebSocket (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`, { details: { code } })),
    );
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    const at = this.clock?.();
    const push = (item: AgentDecodeItem): void => this.received.push(at === undefined ? item : { ...item, at });
    const source = `host ${this.description}`;
    if (isBinary) {
      push({ kind: 'error', error: new AtpError('ATP_SCHEMA_INVALID', `${source}: binary frame ignored (the protocol uses text frames)`) });
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
    let value: unknown;
    try {
      value = JSON.parse(this.utf8.decode(bytes)) as unknown;
    } catch (cause) {
      push({ kind: 'error', error: new AtpError('ATP_FRAME_INVALID_JSON', `${source}: frame is not valid JSON`, { cause }) });
      return;
    }
    try {
      push({ kind: 'message', message: parseAgentMessage(value, source) });
    } catch (error) {
      if (!(error instanceof AtpError)) throw error;
      push({ kind: 'error', error });
    }
  }

  private goDown(error: AtpError | undefined): void {
    if (this.isDown) return;
    this.isDown = true;
    this.received.end();
    this.resolveDown(error);
    if (error === undefined) this.socket.close(1000);
    else this.socket.terminate();
  }

  async send(message: AgentMessage): Promise<void> {
    if (this.isDown || this.socket.readyState !== WebSocket.OPEN) {
      throw new AtpError('ATP_AGENT_DISCONNECTED', `cannot send ${message.type}: the link to ${this.description} is down`);
    }
    const frame = encodeForLink(message, this.maxFrameBytes);
    const text = Buffer.from(frame.buffer, frame.byteOffset, frame.length - 1);
    try {
      await new Promise<void>((resolve, reject) => this.socket.send(text, { binary: false }, (err) => (err ? reject(err) : resolve())));
    } catch (cause) {
      const error = toDisconnected(cause, `writing to ${this.description} failed`);
      this.goDown(error);
      throw error;
    }
  }

  close(): Promise<void> {
    this.goDown(undefined);
    return Promise.resolve();
  }
}

export class WsLink implements Link {
  readonly kind = 'ws';
  readonly description: string;

  constructor(private readonly options: WsLinkOptions) {
    this.description = parseWsUrl(options.url).toString();
  }

  connect(connectOptions: ConnectOptions = {}): Promise<LinkConnection> {
    const maxFrameBytes = this.options.maxFrameBytes ?? AGENT_MAX_FRAME_BYTES;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.description, {
        handshakeTimeout: timeoutMs,
        maxPayload: maxFrameBytes,
        perMessageDeflate: false,
        ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
      });
      const fail = (cause: Error): void => {
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        socket.terminate();
        reject(new AtpError('ATP_AGENT_CONNECT', `cannot connect to ${this.description}: ${cause.message}`, { cause, details: { endpoint: this.description } }));
      };
      socket.once('error', fail);
      socket.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode ?? '?'} instead of a WebSocket upgrade`)));
      socket.once('open', () => {
        socket.off('error', fail);
        socket.removeAllListeners('unexpected-response');
        // ws turns Nagle off on the underlying socket itself.
        resolve(new WsConnection(this.description, socket, maxFrameBytes, connectOptions.clock));
      });
    });
  }
}
