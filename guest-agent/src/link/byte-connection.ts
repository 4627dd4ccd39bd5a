/**
 * A LinkConnection over any byte stream (TCP socket, virtio-serial port):
 * NDJSON frames through AgentMessageDecoder / encodeAgentMessage. The transport
 * supplies how to write and close; it feeds received bytes and reports going down.
 */
import type { Duplex } from 'node:stream';
import { AgentMessageDecoder, AtpError, encodeAgentMessage, encodeNdjson } from '@atp/protocol';
import type { AgentMessage } from '@atp/protocol';
import { Inbox } from './inbox.js';
import type { LinkConnection, ReceivedItem } from './types.js';

export interface ByteTransport {
  /** Writes one whole frame; resolves once the OS has it. */
  write(bytes: Uint8Array): Promise<void>;
  /** Releases the transport; called once, when the connection goes down. */
  destroy(): void;
}

/**
 * The hot messages skip a second zod pass: every event of an `events` body was
 * validated when the ReliableSender numbered it (and the body's shape is the
 * sender's), and the session engine builds ping and pong from numbers. In a
 * TCG guest that pass cost as much as the rest of the send path. Everything
 * else (hello, exec results, problem reports) is validated before it leaves.
 */
const PREVALIDATED: ReadonlySet<AgentMessage['type']> = new Set(['events', 'ping', 'pong']);

export function encodeForLink(message: AgentMessage, maxFrameBytes?: number): Uint8Array {
  return PREVALIDATED.has(message.type) ? encodeNdjson(message, maxFrameBytes) : encodeAgentMessage(message, maxFrameBytes);
}

export class ByteStreamConnection implements LinkConnection {
  readonly received: Inbox<ReceivedItem> = new Inbox();
  readonly down: Promise<AtpError | undefined>;
  private readonly decoder: AgentMessageDecoder;
  private resolveDown!: (error: AtpError | undefined) => void;
  private isDown = false;

  constructor(
    readonly description: string,
    private readonly transport: ByteTransport,
    private readonly maxFrameBytes?: number,
    private readonly clock?: () => number,
  ) {
    this.decoder = new AgentMessageDecoder({ source: `host ${description}`, ...(maxFrameBytes === undefined ? {} : { maxFrameBytes }) });
    this.down = new Promise((resolve) => {
      this.resolveDown = resolve;
    });
  }

  get isUp(): boolean {
    return !this.isDown;
  }

  /** Transport side: bytes arrived. */
  feed(chunk: Uint8Array): void {
    if (this.isDown) return;
    const at = this.clock?.();
    for (const item of this.decoder.push(chunk)) this.received.push(at === undefined ? item : { ...item, at });
  }

  /** Transport side: the stream ended or failed (undefined: closed by us). */
  goDown(error: AtpError | undefined): void {
    if (this.isDown) return;
    this.isDown = true;
    this.transport.destroy();
    this.received.end();
    this.resolveDown(error);
  }

  async send(message: AgentMessage): Promise<void> {
    if (this.isDown) throw new AtpError('ATP_AGENT_DISCONNECTED', `cannot send ${message.type}: the link to ${this.description} is down`);
    const bytes = encodeForLink(message, this.maxFrameBytes);
    try {
      await this.transport.write(bytes);
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

export function toDisconnected(cause: unknown, what: string): AtpError {
  if (cause instanceof AtpError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new AtpError('ATP_AGENT_DISCONNECTED', `${what}: ${message}`, { cause });
}

export interface StreamConnectionOptions {
  description: string;
  /** Where frames come from; ending or failing takes the connection down. */
  reader: Duplex;
  /** Where frames go (default: the reader, a duplex socket). */
  writer?: Duplex;
  maxFrameBytes?: number;
  /** A write the OS has not taken within this long fails the connection with ATP_AGENT_TIMEOUT (default: no limit). */
  writeTimeoutMs?: number;
  /** Stamps each chunk's arrival (ConnectOptions.clock). */
  clock?: () => number;
}

/** A ByteStreamConnection over Node streams (a TCP socket, a pollable virtio-serial port, a FIFO pair). */
export function streamConnection(options: StreamConnectionOptions): ByteStreamConnection {
  const { description, reader } = options;
  const writer = options.writer ?? reader;
  const write = (bytes: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) => {
      const limit = options.writeTimeoutMs;
      const timer =
        limit === undefined ? undefined : setTimeout(() => reject(new AtpError('ATP_AGENT_TIMEOUT', `${description} accepted no data for ${limit} ms (no host reading?)`)), limit);
      writer.write(bytes, (error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      });
    });
  const conn = new ByteStreamConnection(
    description,
    {
      write,
      destroy: () => {
        reader.destroy();
        if (writer !== reader) writer.destroy();
      },
    },
    options.maxFrameBytes,
    options.clock,
  );
  reader.on('data', (chunk: Buffer) => conn.feed(chunk));
  for (const stream of writer === reader ? [reader] : [reader, writer]) {
    stream.on('error', (cause) => conn.goDown(new AtpError('ATP_AGENT_DISCONNECTED', `${description}: ${cause.message}`, { cause })));
    stream.on('close', () => conn.goDown(new AtpError('ATP_AGENT_DISCONNECTED', `the connection to ${description} closed`)));
  }
  // EOF: a TCP peer closed, or no host is connected to a virtio-serial port any more.
  reader.on('end', () => conn.goDown(new AtpError('ATP_AGENT_DISCONNECTED', `${description} closed the connection (read returned EOF)`)));
  return conn;
}
