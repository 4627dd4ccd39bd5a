/**
 * The hub's defences on its listeners, in one place: the session cap, the caps
 * on connections awaiting hello (hub-wide, oldest evicted; per address,
 * newcomer refused), the per-address throttle of bad-token hellos, and the
 * sweep that cuts slow senders whose frame stays unfinished past
 * frameTimeoutMs. Each cut carries a stable code and is counted (metrics.ts).
 * Persistent channels (virtio-serial) are configured, not accepted: never counted or swept here.
 */
import { performance } from 'node:perf_hooks';
import { AtpError } from '@atp/protocol';
import { AuthThrottle, PendingHellos, remoteAddress } from './admission.js';
import type { HubLimits } from './limits.js';
import type { HubCounters } from './metrics.js';
import type { Session } from './session.js';
import type { MessageConnection } from './types.js';

/** Addresses the auth throttle remembers at most. */
export const MAX_THROTTLED_ADDRESSES = 4096;

export class ListenerGuard {
  private readonly pending = new PendingHellos<Session>();
  private readonly throttle: AuthThrottle;
  /** Listener connections open (awaiting hello or admitted). */
  private readonly open = new Set<Session>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: HubLimits,
    private readonly counters: HubCounters,
    private readonly sessions: () => Iterable<Session>,
  ) {
    this.throttle = new AuthThrottle({ burst: limits.authFailureBurst, perSecond: limits.authFailuresPerSecond, maxAddresses: MAX_THROTTLED_ADDRESSES });
  }

  get awaitingHello(): number {
    return this.pending.size;
  }

  get throttledAddresses(): number {
    return this.throttle.addresses;
  }

  /**
   * Before a Session exists for a new connection: the refusal to send it, or
   * undefined. Cheap on purpose (no session, no timer): floods are refused here.
   */
  screen(connection: MessageConnection): AtpError | undefined {
    if (connection.persistent) return undefined;
    const { maxSessions, maxPendingPerAddress } = this.limits;
    const address = remoteAddress(connection.remote);
    if (this.throttle.blocked(address, performance.now())) return this.throttled(address);
    if (this.open.size >= maxSessions) {
      this.counters.connectionsRefused++;
      return new AtpError('ATP_HUB_LIMIT_SESSIONS', `the hub holds its maximum of ${maxSessions} connections`, { details: { maxSessions } });
    }
    if (this.pending.countFor(address) >= maxPendingPerAddress) {
      this.counters.pendingRefused++;
      return new AtpError('ATP_HUB_LIMIT_PENDING', `${address} already has ${maxPendingPerAddress} connections awaiting hello`, {
        details: { address, maxPendingPerAddress },
      });
    }
    return undefined;
  }

  /** A connection that passed screen() now has its session: counted, waiting for hello (the longest waiter may be evicted). */
  admitted(session: Session): void {
    if (session.connection.persistent) return;
    this.open.add(session);
    this.pending.add(session, remoteAddress(session.connection.remote));
    const { maxPendingHellos } = this.limits;
    if (this.pending.size <= maxPendingHellos) return;
    const oldest = this.pending.oldest();
    if (oldest === undefined || oldest === session) return;
    this.counters.pendingEvicted++;
    this.pending.delete(oldest);
    oldest.fail(new AtpError('ATP_HUB_LIMIT_PENDING', `closed to make room: the hub holds its maximum of ${maxPendingHellos} connections awaiting hello`, { details: { maxPendingHellos } }));
  }

  /** A hello arrived: the connection stops waiting; an address over its bad-token budget is refused without a token check. */
  helloArrived(session: Session): AtpError | undefined {
    this.pending.delete(session);
    if (session.connection.persistent) return undefined;
    const address = remoteAddress(session.connection.remote);
    return this.throttle.blocked(address, performance.now()) ? this.throttled(address) : undefined;
  }

  /** A hello was refused for its token: charged to its address. */
  authRefused(session: Session): void {
    if (!session.connection.persistent) this.throttle.refused(remoteAddress(session.connection.remote), performance.now());
  }

  disconnected(session: Session): void {
    if (session.connection.persistent) return;
    this.pending.delete(session);
    this.open.delete(session);
  }

  /** Starts the slow-sender sweep (a quarter of frameTimeoutMs, at most every 500 ms). */
  start(): void {
    if (this.sweeper !== undefined) return;
    const every = Math.max(10, Math.min(500, this.limits.frameTimeoutMs / 4));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    const now = performance.now();
    const { frameTimeoutMs } = this.limits;
    for (const s of [...this.sessions()]) {
      // Virtio-serial channels are the VM's own, not a listener's: a paused VM's half frame is the fault matrix's (idle timeout), not abuse.
      if (s.connection.persistent) continue;
      const since = s.connection.partialSince?.();
      if (since === undefined || now - since <= frameTimeoutMs) continue;
      this.counters.frameTimeouts++;
      s.fail(new AtpError('ATP_HUB_FRAME_TIMEOUT', `a frame begun ${Math.round(now - since)} ms ago is still unfinished (limit ${frameTimeoutMs} ms)`, { details: { frameTimeoutMs } }));
    }
  }

  private throttled(address: string): AtpError {
    this.counters.authThrottled++;
    const { authFailureBurst, authFailuresPerSecond } = this.limits;
    return new AtpError('ATP_HUB_AUTH_THROTTLED', `${address} sent too many refused hellos; its connections are refused for now`, {
      details: { address, authFailureBurst, authFailuresPerSecond },
    });
  }
}
