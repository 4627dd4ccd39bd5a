/**
 * Hub limits and their defaults, and the per-session token bucket that enforces
 * the message rate. Pure: the caller passes the time.
 */
import { AGENT_MAX_FRAME_BYTES } from '@atp/protocol';

export interface HubLimits {
  /** Largest frame accepted, in bytes (newline excluded). */
  maxFrameBytes: number;
  /**
   * Largest WebSocket payload before `ws` itself drops the connection (close
   * code 1009, no error message possible). Frames between maxFrameBytes and this
   * get a proper `error` message. Default 2 × maxFrameBytes.
   */
  wsMaxPayloadBytes: number;
  /** Most connections from listeners at once (virtio-serial channels are configured, not counted). */
  maxSessions: number;
  /** Sustained messages per second per session. */
  messagesPerSecond: number;
  /** Messages a session may send in a burst above the sustained rate. */
  messageBurst: number;
  /** A connection must send hello within this (not applied to persistent virtio-serial channels). */
  helloTimeoutMs: number;
  /** A session that sends nothing for this long is closed (pongs count). */
  idleTimeoutMs: number;
  /**
   * Most listener connections awaiting hello at once, hub-wide: past it the one
   * waiting longest is closed (ATP_HUB_LIMIT_PENDING) to make room. Separate from
   * maxSessions, so idle or unauthenticated sockets cannot fill the hub.
   */
  maxPendingHellos: number;
  /** Most connections awaiting hello from one remote address; a further one is refused (ATP_HUB_LIMIT_PENDING). */
  maxPendingPerAddress: number;
  /** Largest first frame (the hello), bytes: what a connection may make the hub buffer before it authenticates. */
  maxHelloBytes: number;
  /** A frame begun must end within this, ms (a slow sender is closed with ATP_HUB_FRAME_TIMEOUT). */
  frameTimeoutMs: number;
  /** Refused hellos (bad token) one remote address may send in a burst before it is throttled (ATP_HUB_AUTH_THROTTLED). */
  authFailureBurst: number;
  /** How fast a throttled address's budget of refused hellos refills, per second. */
  authFailuresPerSecond: number;
}

export const DEFAULT_HUB_LIMITS: HubLimits = {
  maxFrameBytes: AGENT_MAX_FRAME_BYTES,
  wsMaxPayloadBytes: 2 * AGENT_MAX_FRAME_BYTES,
  maxSessions: 4096,
  messagesPerSecond: 2000,
  messageBurst: 4000,
  helloTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxPendingHellos: 512,
  maxPendingPerAddress: 64,
  maxHelloBytes: 256 * 1024,
  frameTimeoutMs: 10_000,
  authFailureBurst: 20,
  authFailuresPerSecond: 2,
};

export function resolveLimits(partial: Partial<HubLimits> = {}): HubLimits {
  const limits = { ...DEFAULT_HUB_LIMITS, ...partial };
  if (partial.wsMaxPayloadBytes === undefined) limits.wsMaxPayloadBytes = 2 * limits.maxFrameBytes;
  limits.wsMaxPayloadBytes = Math.max(limits.wsMaxPayloadBytes, limits.maxFrameBytes + 1);
  return limits;
}

/** Classic token bucket: `take()` is false once the session exceeds rate + burst. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  take(now: number, count = 1): boolean {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerSecond);
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }
}
