/**
 * What the hub delivers and how it talks to transports. A delivered item is an
 * observed event or a session notice; both are records of the event store, so a
 * consumer reading the store (in this process or another) sees the same items.
 * Items are validated with zod when read back from a journal.
 */
import { z } from 'zod';
import { AgentProblemSchema, ObservedEventSchema, type AgentMessage, type AtpError, type HelloBody } from '@atp/protocol';

export const TRANSPORT_KINDS = ['tcp', 'ws', 'virtio'] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

const seq = z.number().int().min(1);
const reason = z.object({ code: z.string(), message: z.string() });

/** What a hello said, minus the token. */
export const HelloSummarySchema = z.object({
  version: z.string(),
  os: z.object({ platform: z.string(), release: z.string(), arch: z.string(), hostname: z.string().optional() }),
  captureBackends: z.array(z.string()),
  capabilities: z.array(z.string()),
  lastSeq: z.number().int().min(0).nullable(),
  unacked: z.number().int().min(0),
  overflowed: z.number().int().min(0),
  /** Problems the agent listed in its hello (device limits, stalls); absent when none or from older journals. */
  problems: z.array(AgentProblemSchema).optional(),
  /** The agentId the hello said, when a binding gave the session another key (the item's agentId); absent otherwise. */
  agentId: z.string().optional(),
  /** The VM's SMBIOS UUID the hello said; absent when it said none. */
  vmUuid: z.string().optional(),
});
export type HelloSummary = z.output<typeof HelloSummarySchema>;

const common = {
  agentId: z.string(),
  /** Position in this agent's item log, from 0, without holes. */
  index: z.number().int().min(0),
  /** Host clock (ms since the epoch, sub-ms precision) when the hub received or decided it. */
  receivedAt: z.number(),
  bootId: z.string(),
};

export const HubItemSchema = z.discriminatedUnion('kind', [
  z.object({ ...common, kind: z.literal('event'), seq, event: ObservedEventSchema }),
  z.object({
    ...common,
    kind: z.literal('connected'),
    sessionId: z.string(),
    transport: z.enum(TRANSPORT_KINDS),
    remote: z.string(),
    hello: HelloSummarySchema,
    /** The cumulative ack the welcome carried: the agent resends what follows. */
    ackedSeq: z.number().int().min(0).nullable(),
  }),
  z.object({
    ...common,
    kind: z.literal('disconnected'),
    sessionId: z.string(),
    reason: reason.nullable(),
    /** Highest seq delivered for this boot when the session ended. */
    lastSeq: z.number().int().min(0).nullable(),
    /** The last cumulative ack this session sent (or its welcome's); lastSeq − ackedSeq were delivered but not yet acknowledged. Absent in journals older than the field. */
    ackedSeq: z.number().int().min(0).nullable().optional(),
  }),
  z.object({
    ...common,
    kind: z.literal('boot-changed'),
    /**
     * The boot before: the last seq delivered from it, the last cumulative ack the
     * hub sent it (so lastSeq − ackedSeq were delivered but unacknowledged when it
     * ended; whatever the old agent held beyond lastSeq never arrived and is lost),
     * and what its last hello said. Acks are not journaled one by one: after a hub
     * restart, ackedSeq is the highest one the journal recorded (welcome and
     * disconnect notices), a lower bound. Absent in journals older than the field.
     */
    previous: z.object({
      bootId: z.string(),
      lastSeq: z.number().int().min(0).nullable(),
      ackedSeq: z.number().int().min(0).nullable().optional(),
      hello: HelloSummarySchema.nullable(),
    }),
    /** What the new boot's hello says (lastSeq, unacked, overflowed of the new boot). */
    hello: HelloSummarySchema,
  }),
  z.object({
    ...common,
    kind: z.literal('problem'),
    /** A problem the agent reported during a session (a non-fatal `error` message): a stall, a device it could not capture. */
    problem: AgentProblemSchema,
  }),
  z.object({
    ...common,
    kind: z.literal('gap'),
    /** The seq the hub expected next; `got` arrived instead, so `got - expected` events never arrived. */
    expected: seq,
    got: seq,
  }),
]);

export type HubItem = z.output<typeof HubItemSchema>;
export type HubItemKind = HubItem['kind'];
export type HubEventItem = Extract<HubItem, { kind: 'event' }>;
type WithoutIndex<T> = T extends unknown ? Omit<T, 'index'> : never;
/** An item before the store gives it its index. */
export type HubItemInput = WithoutIndex<HubItem>;

/** `key` is the session's key: the hello's own agentId is kept only when it differs. */
export function summarizeHello(hello: HelloBody, key: string = hello.agentId): HelloSummary {
  return {
    version: hello.version,
    os: { ...hello.os },
    captureBackends: [...hello.captureBackends],
    capabilities: [...hello.capabilities],
    lastSeq: hello.lastSeq,
    unacked: hello.unacked,
    overflowed: hello.overflowed,
    ...(hello.problems === undefined || hello.problems.length === 0 ? {} : { problems: hello.problems.map((p) => ({ ...p })) }),
    ...(hello.agentId === key ? {} : { agentId: hello.agentId }),
    ...(hello.vmUuid === undefined ? {} : { vmUuid: hello.vmUuid }),
  };
}

/** What a connection reports to its owner (the session). */
export interface ConnectionHandlers {
  /** Raw bytes received (counted before decoding). */
  received(bytes: number): void;
  message(message: AgentMessage): void;
  /** A frame that is not a valid message; no further message is reported on this connection. */
  badFrame(error: AtpError): void;
  closed(): void;
}

/** One message-level connection, whatever the transport underneath. */
export interface MessageConnection {
  readonly id: string;
  readonly transport: TransportKind;
  /** Peer address for humans: 127.0.0.1:53422, a socket path, ... */
  readonly remote: string;
  /**
   * A channel that outlives agents (virtio-serial): no hello timeout, and a new
   * hello on it starts a new session (the agent in the guest restarted).
   */
  readonly persistent: boolean;
  /** Must be called synchronously when the connection is handed over. */
  attach(handlers: ConnectionHandlers): void;
  /** Queues one message; returns the bytes queued (0 once closing). */
  send(message: AgentMessage): number;
  /** Flushes what is queued, then closes (destroyed if the peer does not read within a grace period). */
  close(): void;
  /** Drops the connection at once. */
  destroy(): void;
  /**
   * Since when (performance.now(), ms) the frame the peer is sending has been
   * unfinished, or undefined between frames; the hub cuts a connection whose
   * frame stays unfinished past frameTimeoutMs. Absent: not tracked.
   */
  partialSince?(): number | undefined;
}

/** Something that produces connections: a TCP or WebSocket server, a virtio-serial chardev client. */
export interface Listener {
  readonly kind: TransportKind;
  start(onConnection: (connection: MessageConnection) => void): Promise<void>;
  /** Where it listens or connects, for humans. */
  describe(): string;
  /** Stops producing connections and drops the ones it made. */
  close(): Promise<void>;
}
