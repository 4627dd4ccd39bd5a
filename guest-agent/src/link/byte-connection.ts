/**
 * A LinkConnection over any byte stream (TCP socket, virtio-serial port):
 * NDJSON frames through AgentMessageDecoder / encodeAgentMessage. The transport
 * supplies how to write and close; it feeds received bytes and reports going down.
 */
import { AgentMessageDecoder, AtpError, encodeAgentMessage } from '@atp/protocol';
import type { AgentDecodeItem, AgentMessage } from '@atp/protocol';
import { Inbox } from './inbox.js';
import type { LinkConnection } from './types.js';

export interface ByteTransport {
  /** Writes one whole frame; resolves once the OS has it. */
  write(bytes: Uint8Array): Promise<void>;
  /** Releases the transport; called once, when the connection goes down. */
  destroy(): void;
}

export class ByteStreamConnection implements LinkConnection {
  readonly received: Inbox<AgentDecodeItem> = new Inbox();
  readonly down: Promise<AtpError | undefined>;
  private readonly decoder: AgentMessageDecoder;
  private resolveDown!: (error: AtpError | undefined) => void;
  private isDown = false;

  constructor(
    readonly description: string,
    private readonly transport: ByteTransport,
    private readonly maxFrameBytes?: number,
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
    for (const item of this.decoder.push(chunk)) this.received.push(item);
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
    const bytes = encodeAgentMessage(message, this.maxFrameBytes);
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
