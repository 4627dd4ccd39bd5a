/**
 * The vocabulary of the session engine (engine.ts): what a driver tells it
 * (inputs, each with the time it happened on the observer's clock) and what it
 * answers (decisions the driver carries out with its socket and timers).
 * Hand-written: these are in-process types, not a wire format.
 */
import type { AtpError } from '../errors.js';
import type { AgentMessage, ErrorBody, EventsBody, HelloBody, WelcomeBody } from '../agent-protocol.js';
import type { BackoffOptions } from '../backoff.js';
import type { ReliableSender } from '../delivery.js';

/** Everything in a hello but the delivery counters, which the engine adds at each connect. */
export type ObserverIdentity = Omit<HelloBody, 'lastSeq' | 'unacked' | 'overflowed'>;

export type SessionPhase = 'idle' | 'connecting' | 'handshake' | 'ready' | 'backoff' | 'stopped';

/** The timers a driver keeps for the engine; arming a name that is armed replaces it. */
export type SessionTimer = 'welcome' | 'heartbeat' | 'reconnect' | 'flush';

/** `now` is always the observer's clock in ms (the clock events and pongs are stamped on). */
export type SessionInput =
  /** Begin: the engine asks for a connection. */
  | { type: 'start'; now: number }
  /** The transport is open; `identity` is read at each connect (the device list changes). */
  | { type: 'connected'; now: number; identity: ObserverIdentity; where: string }
  | { type: 'connect-failed'; now: number; error: AtpError }
  /** A decoded frame; `now` is when its bytes arrived (a ping's t2). */
  | { type: 'frame'; now: number; message: AgentMessage }
  | { type: 'bad-frame'; now: number; error: AtpError }
  | { type: 'timer'; now: number; timer: SessionTimer }
  /** New events are in the sender: send them when the flush policy allows. */
  | { type: 'events-pushed'; now: number }
  /** Every write of the last `send-events` decision was handed to the OS. */
  | { type: 'written'; now: number }
  /** The app wants a message sent (a problem report, an exec result); dropped unless ready. */
  | { type: 'send'; now: number; message: AgentMessage }
  /** The transport went down on its own (`error` says why; undefined: closed by us). */
  | { type: 'closed'; now: number; error: AtpError | undefined }
  /** Graceful stop: never reconnect; the current connection may drain (the driver decides how long). */
  | { type: 'drain'; now: number }
  /** Stop now: close whatever is open, cancel every timer. */
  | { type: 'stop'; now: number };

export type SessionDecision =
  | { type: 'phase'; phase: SessionPhase }
  /** Open a connection and answer `connected` or `connect-failed`. */
  | { type: 'connect' }
  | { type: 'send'; message: AgentMessage }
  /** Write these batches in order, then answer `written` (or `closed` if the link fails). */
  | { type: 'send-events'; bodies: EventsBody[]; resent: number }
  /** Answer a ping: the driver stamps t3 on its clock as it writes the pong. */
  | { type: 'pong'; id: number; t1: number; t2: number }
  | { type: 'arm'; timer: SessionTimer; delayMs: number }
  | { type: 'cancel'; timer: SessionTimer }
  /** Close the current connection; its later `closed` input is ignored. */
  | { type: 'close'; reason: AtpError | undefined }
  /**
   * The connection is over; the engine retries after delayMs (a `reconnect`
   * timer is armed in the same decision list). `refusal`: the host's error that
   * ended it, `auth`: it was a refused token or identity (long backoff).
   */
  | { type: 'backoff'; delayMs: number; reason: AtpError; auth: boolean; welcomed: boolean; refusal: ErrorBody | undefined }
  | { type: 'welcomed'; welcome: WelcomeBody; resending: number }
  /** A host message for the app: capture-start/stop, exec-request, status, a host error, a pong. */
  | { type: 'deliver'; message: AgentMessage }
  | { type: 'bad-frame'; error: AtpError }
  /** A message for the app was dropped: an ack for another boot id. */
  | { type: 'ignored'; message: AgentMessage; why: string }
  | { type: 'stopped'; reason: AtpError | undefined };

export interface SessionEngineOptions {
  sender: ReliableSender;
  /** Default 10,000 ms. */
  welcomeTimeoutMs?: number;
  /** Reconnect after a failure; default DEFAULT_BACKOFF (backoff.ts). */
  backoff?: BackoffOptions;
  /** Reconnect after a refused token or identity; default SESSION_AUTH_BACKOFF. */
  authBackoff?: BackoffOptions;
  /** [0, 1) for the backoff jitter. */
  random: () => number;
  /**
   * Flush pacing: at most one `events` frame per `minFlushIntervalMs` on
   * average (0: no pacing), after a burst of `flushBurst` back-to-back frames.
   * Default 1 ms, and a burst of ceil(FLUSH_BURST_SPAN_MS / interval), at least 1.
   */
  minFlushIntervalMs?: number;
  flushBurst?: number;
  /** What to do when another peer with the same agent id takes over (ATP_HUB_SUPERSEDED): default reconnect. */
  onSuperseded?: 'reconnect' | 'stop';
}
