/**
 * What the guest observed during one suite, read from the hub's stream for one
 * agent (from 'now': nothing from before the suite). It is the Pacer's
 * ObservationFeedback (observed key presses), the source of the observed events
 * handed to the verify engine, and what checkpoints wait on: "the key and
 * button transitions caught up with what was sent, then nothing new for a
 * moment" (quiescence).
 */
import { AtpError, type ObservedAbsEvent, type ObservedEvent } from '@atp/protocol';
import type { AgentHub, HubItem } from '../hub/index.js';
import type { ObservationFeedback } from '../inject/pacing.js';
import { hostNow } from '../util/clock.js';
import { timerDelay } from '../util/timers.js';

/** How often the hub is asked whether it failed to store the agent's items. */
const STORE_CHECK_MS = 250;

/** Notices other than events (connected, disconnected, boot-changed, gap), kept for the report. */
export type HubNotice = Exclude<HubItem, { kind: 'event' }>;

export interface QuiescenceTarget {
  /** Key transitions (down and up, not autorepeat) that were sent so far. */
  keyTransitions: number;
  buttonTransitions: number;
  /**
   * After catching up, wait until nothing arrived for this long (counted from
   * the later of the last item and the start of the wait; default 200 ms), to
   * see extras and pointer events, which have no count to catch up with.
   */
  settleMs?: number;
  /** Also wait (within timeoutMs) until this holds, e.g. the pointer reached its expected position. */
  until?: () => boolean;
  timeoutMs: number;
}

interface Waiter {
  ready: () => boolean;
  resolve: (ok: boolean) => void;
}

export class HubObservation implements ObservationFeedback {
  /** Observed events in delivery order. */
  readonly events: ObservedEvent[] = [];
  /** Host clock when the hub received each event (parallel to `events`). */
  readonly receivedAt: number[] = [];
  readonly notices: HubNotice[] = [];
  keyDowns = 0;
  keyTransitions = 0;
  buttonTransitions = 0;
  wheelEvents = 0;
  /** Net relative motion observed so far (device units). */
  relX = 0;
  relY = 0;
  /** Host clock of the last item (event or notice). */
  lastItemAt = hostNow();
  private lastAbsEvent: ObservedAbsEvent | undefined;
  private failure: AtpError | undefined;
  private done = false;
  private readonly waiters = new Set<Waiter>();
  private readonly abort = new AbortController();
  private readonly pump: Promise<void>;

  private constructor(hub: AgentHub, agentId: string) {
    const stream = hub.stream(agentId, { from: 'now', signal: this.abort.signal });
    this.pump = this.consume(stream);
    // What the hub failed to store never reaches the stream (a full journal disk): asked of the hub instead.
    const before = hub.storeFailure(agentId)?.count ?? 0;
    const watch = setInterval(() => {
      const failed = hub.storeFailure(agentId);
      if (failed === undefined || failed.count === before || this.done) return;
      this.failure = new AtpError('ATP_HUB_STORE', `the hub could not store agent ${agentId}'s events, the observation stopped: ${failed.error.message}`, { cause: failed.error });
      this.done = true;
      this.wake();
    }, STORE_CHECK_MS);
    this.abort.signal.addEventListener('abort', () => clearInterval(watch), { once: true });
  }

  /** Starts following `agentId` from now on. */
  static start(hub: AgentHub, agentId: string): HubObservation {
    return new HubObservation(hub, agentId);
  }

  private async consume(stream: AsyncGenerator<HubItem>): Promise<void> {
    try {
      for await (const item of stream) this.take(item);
    } catch (error) {
      if (!this.abort.signal.aborted) this.failure = error instanceof AtpError ? error : new AtpError('ATP_HUB_STORE', `the hub stream failed: ${String(error)}`, { cause: error });
    } finally {
      this.done = true;
      this.wake();
    }
  }

  private take(item: HubItem): void {
    this.lastItemAt = hostNow();
    if (item.kind !== 'event') {
      this.notices.push(item);
    } else {
      const ev = item.event;
      this.events.push(ev);
      this.receivedAt.push(item.receivedAt);
      if (ev.kind === 'key' && ev.action !== 'repeat') {
        this.keyTransitions++;
        if (ev.action === 'down') this.keyDowns++;
      } else if (ev.kind === 'button') this.buttonTransitions++;
      else if (ev.kind === 'abs') this.lastAbsEvent = ev;
      else if (ev.kind === 'wheel') this.wheelEvents++;
      else if (ev.kind === 'rel') {
        this.relX += ev.dx;
        this.relY += ev.dy;
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      if (this.done || w.ready()) {
        this.waiters.delete(w);
        w.resolve(w.ready());
      }
    }
  }

  /** The stream's failure, if it failed (the hub closed, the store broke). */
  error(): AtpError | undefined {
    return this.failure;
  }

  /** The last absolute pointer event observed, if any. */
  lastAbs(): ObservedAbsEvent | undefined {
    return this.lastAbsEvent;
  }

  observedCount(): number {
    return this.keyDowns;
  }

  async waitForObserved(count: number, timeoutMs: number): Promise<void> {
    await this.waitFor(() => this.keyDowns >= count, timeoutMs);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Resolves true once `ready()` holds, false when timeoutMs passed or the stream ended first. */
  waitFor(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    if (this.done) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), timerDelay(timeoutMs));
      const waiter: Waiter = { ready, resolve: (ok) => finish(ok) };
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(ok);
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * Waits until the observed key and button transitions reach the target (or
   * more: a doubled key) and then until no item arrived for settleMs; bounded by
   * timeoutMs overall. Resolves whether the transitions caught up.
   */
  async waitQuiet(target: QuiescenceTarget): Promise<boolean> {
    const start = hostNow();
    const until = start + target.timeoutMs;
    const settleMs = target.settleMs ?? 200;
    const extra = target.until ?? ((): boolean => true);
    const caughtUp = (): boolean => this.keyTransitions >= target.keyTransitions && this.buttonTransitions >= target.buttonTransitions && extra();
    const ok = await this.waitFor(caughtUp, target.timeoutMs);
    for (;;) {
      const now = hostNow();
      const quietFor = now - Math.max(start, this.lastItemAt);
      if (quietFor >= settleMs || now >= until || this.done) return ok;
      const seen = this.events.length + this.notices.length;
      // Wake on the next item or when the quiet period would be complete.
      await this.waitFor(() => this.events.length + this.notices.length > seen, Math.min(settleMs - quietFor, until - now));
    }
  }

  /** Stops following the stream. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.pump;
  }
}
