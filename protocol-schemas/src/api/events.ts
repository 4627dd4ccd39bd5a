/**
 * The live-events WebSocket, /api/v1/events: the messages each side sends,
 * the close codes, and the `data` of the `agent` and `log` event kinds
 * (`metrics` data is ApiMetricsSample, metrics.ts; `run` data is a RunEvent
 * or a run-status record, run-events.ts and runs.ts).
 *
 * Conversation: the client authenticates (the console's session cookie on the
 * upgrade request, or `{type:'auth', token}` as its first message; never a
 * token in the URL) and gets `ready` with the log's current bounds. It then
 * sends one `subscribe` with the last index it saw (0 for everything still
 * held) and optional filters; the server sends every later matching event as
 * `event`, in index order, each once. When events the client asked for are no
 * longer held, it gets `gap` with the oldest index still there, then the rest
 * (also when `after` is beyond the newest index: the server restarted).
 * A refused message gets `error` and the connection is closed with one of
 * EVENTS_CLOSE_CODES and the error code at the start of the close reason.
 */
import { z } from 'zod';
import { API_EVENT_KINDS, ApiEventSchema } from './common.js';

const index = z.number().int().min(0);

export const EventsAuthMessageSchema = z.strictObject({ type: z.literal('auth'), token: z.string().min(1).max(4096) });

export const EventsSubscribeMessageSchema = z.strictObject({
  type: z.literal('subscribe'),
  /** The last index the client saw (0: from the oldest event still held, without a `gap`). */
  after: index,
  /** Only these kinds (default all). */
  kinds: z.array(z.enum(API_EVENT_KINDS)).min(1).optional(),
  /** Only the events of this run (run events carry their run id; other kinds have none). */
  runId: z.string().min(1).max(512).optional(),
});
export type EventsSubscribeMessage = z.output<typeof EventsSubscribeMessageSchema>;

/** What a client may send: auth (unless its cookie did), then one subscribe. */
export const EventsClientMessageSchema = z.discriminatedUnion('type', [EventsAuthMessageSchema, EventsSubscribeMessageSchema]);
export type EventsClientMessage = z.output<typeof EventsClientMessageSchema>;

export const EventsServerMessageSchema = z.discriminatedUnion('type', [
  /**
   * Authenticated: the newest index published so far, the oldest still held, and the numbering's epoch (new each
   * time the server starts: indexes restart from 1, so a client that kept an index from another epoch resumes from 0).
   */
  z.strictObject({ type: z.literal('ready'), lastIndex: index, oldest: z.number().int().min(1), epoch: z.string() }),
  z.strictObject({ type: z.literal('event'), event: ApiEventSchema }),
  /** Events before `oldest` that the subscription asked for are gone (the log keeps the newest ones only). */
  z.strictObject({ type: z.literal('gap'), oldest: z.number().int().min(1) }),
  /** Why the server is about to close the connection. */
  z.strictObject({ type: z.literal('error'), error: z.strictObject({ code: z.string(), message: z.string() }) }),
]);
export type EventsServerMessage = z.output<typeof EventsServerMessageSchema>;

/** WebSocket close codes of /api/v1/events (the close reason starts with the AtpError code). */
export const EVENTS_CLOSE_CODES = {
  /** The server is stopping. */
  shutdown: 1001,
  /** A message that is not JSON, not one of EventsClientMessageSchema, or out of turn (a second subscribe). */
  badMessage: 4400,
  /** Wrong token, or a subscribe before auth. */
  auth: 4401,
  /** No auth message within the server's auth timeout. */
  authTimeout: 4408,
  /** The client stopped reading: unread data stayed above the server's bound for too long. */
  slowClient: 4413,
} as const;

/** `data` of a `kind: 'agent'` event: an agent (guest agent or web verifier page) connected to the hub or went away. */
export const ApiAgentEventDataSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('connected'),
    agentId: z.string(),
    bootId: z.string(),
    sessionId: z.string(),
    transport: z.string(),
    remote: z.string(),
    /** The agent's version and OS as its hello said. */
    version: z.string(),
    os: z.string(),
  }),
  z.strictObject({
    type: z.literal('disconnected'),
    agentId: z.string(),
    bootId: z.string(),
    sessionId: z.string(),
    /** Why the session ended, when the hub knows (an AtpError code and message); null for a plain close. */
    reason: z.strictObject({ code: z.string(), message: z.string() }).nullable(),
    lastSeq: z.number().int().min(0).nullable(),
  }),
]);
export type ApiAgentEventData = z.output<typeof ApiAgentEventDataSchema>;

/** `data` of a `kind: 'log'` event: one line of the server's log. */
export const ApiLogEventDataSchema = z.strictObject({ line: z.string() });
export type ApiLogEventData = z.output<typeof ApiLogEventDataSchema>;
