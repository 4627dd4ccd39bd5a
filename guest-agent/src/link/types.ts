/**
 * The transport seam of the agent: a Link opens connections to the host; a
 * connection carries whole agent-protocol messages both ways. TCP, WebSocket and
 * virtio-serial implement it; the session above never sees bytes.
 */
import type { AgentDecodeItem, AgentMessage, AtpError } from '@atp/protocol';

export type LinkKind = 'tcp' | 'ws' | 'virtio';

/** A received item with the time its bytes arrived (`at`, on the clock given to connect), taken before decoding. */
export type ReceivedItem = AgentDecodeItem & { at?: number };

export interface ConnectOptions {
  /** The observer clock to stamp arrivals with (a ping's t2 is its arrival, not the end of its parsing). */
  clock?: () => number;
}

export interface LinkConnection {
  /** Where this connection goes, for logs. */
  readonly description: string;
  /**
   * Sends one message, validated and encoded; resolves once it was handed to
   * the OS. Sends are written in call order. Rejects ATP_AGENT_DISCONNECTED
   * when the connection is down, ATP_SCHEMA_INVALID / ATP_FRAME_TOO_LARGE for a
   * message that cannot be sent.
   */
  send(message: AgentMessage): Promise<void>;
  /** Received messages, and a decode error item for each bad frame; ends when the connection goes down. */
  readonly received: AsyncIterable<ReceivedItem>;
  /** Resolves once the connection is down, with why (undefined after close()). */
  readonly down: Promise<AtpError | undefined>;
  /** Closes the connection; idempotent. */
  close(): Promise<void>;
}

export interface Link {
  readonly kind: LinkKind;
  /** The configured endpoint, for logs. */
  readonly description: string;
  /** Opens one connection; rejects ATP_AGENT_CONNECT (or ATP_AGENT_TIMEOUT). */
  connect(options?: ConnectOptions): Promise<LinkConnection>;
}

/** Structured logging as the session and links use it (the CLI writes JSON lines to stderr). */
export interface SessionLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}
