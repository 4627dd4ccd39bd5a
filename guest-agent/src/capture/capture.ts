/**
 * The `Capture` interface every capture backend (linux-evdev, windows-hooks)
 * implements, and CaptureEmitter, the fan-out they share.
 *
 * A backend pushes events as the guest's input stack delivers them: the kernel
 * does not wait for a slow consumer, so neither does a backend. Consumers either
 * subscribe (synchronous callbacks) or iterate `events()`, whose queue is bounded;
 * events that do not fit are counted per device and reported as one
 * `sync-dropped` event (with `lost`) per device as soon as there is room again:
 * a loss is an event, never silent.
 *
 * Device changes travel in the same stream as `device` events (change 'added' or
 * 'removed'); `devices()` is the current list. Errors (a device that cannot be
 * opened, a failed read) are not fatal and go to the `error` callbacks only.
 */
import type { AtpError, DeviceInfo, ObservedEvent } from '@atp/protocol';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a backend produces: an observed event before the link layer numbers it (`seq`). */
export type CapturedEvent = DistributiveOmit<ObservedEvent, 'seq'>;

export interface CaptureHandlers {
  event?: (event: CapturedEvent) => void;
  error?: (error: AtpError) => void;
}

export interface CaptureEventsOptions {
  /** Most events held for a slow iterator before losses are counted (default 100000). */
  maxQueued?: number;
  /** Ends the iteration. */
  signal?: AbortSignal;
}

export interface Capture {
  /** Backend name as announced in `hello.captureBackends`, e.g. 'linux-evdev'. */
  readonly backend: string;
  /** Opens the devices present now and starts following hotplug. Idempotent. */
  start(): Promise<void>;
  /** Closes every device and ends every `events()` iteration. Idempotent. */
  stop(): Promise<void>;
  /** The devices captured now. */
  devices(): DeviceInfo[];
  /** Adds callbacks; returns the function that removes them. */
  subscribe(handlers: CaptureHandlers): () => void;
  /** An async iteration over the events from now on, ending at stop() or on `signal`. */
  events(options?: CaptureEventsOptions): AsyncIterableIterator<CapturedEvent>;
  /** Extra hello capabilities a backend announces (windows-hooks: its session and input desktop). */
  capabilities?(): string[];
}

const DEFAULT_MAX_QUEUED = 100_000;

/** Listener fan-out plus bounded iterators; a backend owns one and calls emit()/fail()/end(). */
export class CaptureEmitter {
  private readonly handlers = new Set<CaptureHandlers>();
  private readonly iterators = new Set<() => void>();

  subscribe(handlers: CaptureHandlers): () => void {
    this.handlers.add(handlers);
    return () => {
      this.handlers.delete(handlers);
    };
  }

  emit(event: CapturedEvent): void {
    for (const h of this.handlers) h.event?.(event);
  }

  fail(error: AtpError): void {
    for (const h of this.handlers) h.error?.(error);
  }

  /** Ends every current iterator (stop()). Subscriptions stay; a later start() emits again. */
  end(): void {
    for (const finish of [...this.iterators]) finish();
  }

  events(options: CaptureEventsOptions = {}): AsyncIterableIterator<CapturedEvent> {
    const maxQueued = Math.max(1, options.maxQueued ?? DEFAULT_MAX_QUEUED);
    const queue: CapturedEvent[] = [];
    const lost = new Map<string, { count: number; t: number }>();
    let waiting: ((result: IteratorResult<CapturedEvent>) => void) | undefined;
    let done = false;

    const finish = (): void => {
      if (done) return;
      done = true;
      unsubscribe();
      this.iterators.delete(finish);
      options.signal?.removeEventListener('abort', finish);
      const wake = waiting;
      waiting = undefined;
      wake?.({ done: true, value: undefined });
    };
    const flushLosses = (): void => {
      for (const [device, { count, t }] of lost) {
        if (queue.length >= maxQueued) return;
        queue.push({ kind: 'sync-dropped', t, device, lost: count });
        lost.delete(device);
      }
    };
    const unsubscribe = this.subscribe({
      event: (event) => {
        if (done) return;
        if (waiting !== undefined && queue.length === 0 && lost.size === 0) {
          const wake = waiting;
          waiting = undefined;
          wake({ done: false, value: event });
          return;
        }
        if (queue.length >= maxQueued || lost.size > 0) {
          const entry = lost.get(event.device);
          if (entry === undefined) lost.set(event.device, { count: 1, t: event.t });
          else entry.count += 1;
          return;
        }
        queue.push(event);
      },
    });
    this.iterators.add(finish);
    if (options.signal?.aborted) finish();
    else options.signal?.addEventListener('abort', finish, { once: true });

    const iterator: AsyncIterableIterator<CapturedEvent> = {
      next: () => {
        let value = queue.shift();
        flushLosses();
        value ??= queue.shift();
        if (value !== undefined) return Promise.resolve({ done: false, value });
        if (done) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => {
          waiting = resolve;
        });
      },
      return: () => {
        finish();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
