/**
 * Fan-out of QMP events to listeners, async iterators and one-shot waiters.
 *
 * Each iterator has its own bounded buffer. When a consumer falls behind and
 * its buffer is full, the OLDEST buffered event is dropped: the stream's
 * `dropped` counter grows and the hub reports the overflow (QmpClient turns it
 * into an 'eventsDropped' notification). Nothing is dropped silently.
 */
import { AtpError } from '@atp/protocol';
import type { QmpEvent } from './messages.js';
import { timerDelay } from '../../util/timers.js';

export const DEFAULT_EVENT_BUFFER = 1024;

export interface QmpEventOverflow {
  /** Events this stream has dropped so far. */
  dropped: number;
  bufferSize: number;
  /** The event that was dropped. */
  event: string;
}

export interface WaitForEventOptions {
  timeoutMs: number;
  predicate?: (event: QmpEvent) => boolean;
}

/** An async iterator over every event; `return()` (or `break`) unsubscribes. */
export class QmpEventStream implements AsyncIterableIterator<QmpEvent> {
  /** Events dropped because this stream's buffer was full (oldest first). */
  dropped = 0;
  private readonly queue: QmpEvent[] = [];
  private readonly takers: ((r: IteratorResult<QmpEvent>) => void)[] = [];
  private done = false;

  constructor(
    readonly bufferSize: number,
    private readonly onOverflow: (overflow: QmpEventOverflow) => void,
    private readonly onFinish: (stream: QmpEventStream) => void,
  ) {}

  /** Called by the hub. */
  offer(event: QmpEvent): void {
    if (this.done) return;
    const taker = this.takers.shift();
    if (taker) {
      taker({ value: event, done: false });
      return;
    }
    this.queue.push(event);
    if (this.queue.length > this.bufferSize) {
      const lost = this.queue.shift();
      this.dropped += 1;
      this.onOverflow({ dropped: this.dropped, bufferSize: this.bufferSize, event: lost?.event ?? '' });
    }
  }

  /** Ends the stream: buffered events are still delivered, then `done`. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.onFinish(this);
    for (const taker of this.takers.splice(0)) taker({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<QmpEvent>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.takers.push(resolve));
  }

  return(): Promise<IteratorResult<QmpEvent>> {
    this.queue.length = 0;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): QmpEventStream {
    return this;
  }
}

export class QmpEventHub {
  private readonly listeners = new Map<string, Set<(event: QmpEvent) => void>>();
  private readonly streams = new Set<QmpEventStream>();
  private readonly waiters = new Set<{ fail: (error: AtpError) => void }>();
  private endedWith: AtpError | undefined;
  /** Listeners that threw. */
  listenerFailures = 0;

  constructor(private readonly onOverflow: (overflow: QmpEventOverflow) => void) {}

  publish(event: QmpEvent): void {
    for (const key of [event.event, '*']) {
      for (const listener of [...(this.listeners.get(key) ?? [])]) {
        try {
          listener(event);
        } catch {
          this.listenerFailures += 1;
        }
      }
    }
    for (const stream of this.streams) stream.offer(event);
  }

  /** `name` '*' listens to every event. Returns the unsubscribe function. */
  onEvent(name: string, listener: (event: QmpEvent) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  events(options: { bufferSize?: number } = {}): QmpEventStream {
    const size = options.bufferSize ?? DEFAULT_EVENT_BUFFER;
    if (!Number.isInteger(size) || size < 1) {
      throw new AtpError('ATP_SCHEMA_INVALID', `events(): bufferSize must be a positive integer, got ${size}`, { details: { field: 'bufferSize' } });
    }
    const stream = new QmpEventStream(size, this.onOverflow, (s) => this.streams.delete(s));
    if (this.endedWith) stream.finish();
    else this.streams.add(stream);
    return stream;
  }

  /** Resolves with the next event called `name` (matching `predicate`), arriving after this call. */
  waitForEvent(name: string, options: WaitForEventOptions): Promise<QmpEvent> {
    if (this.endedWith) return Promise.reject(this.endedWith);
    return new Promise((resolve, reject) => {
      const waiter = {
        fail: (error: AtpError): void => {
          cleanup();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiter.fail(
          new AtpError('ATP_QMP_TIMEOUT', `no ${name} event within ${options.timeoutMs} ms`, {
            details: { event: name, timeoutMs: options.timeoutMs },
          }),
        );
      }, timerDelay(options.timeoutMs));
      const unsubscribe = this.onEvent(name, (event) => {
        if (options.predicate && !options.predicate(event)) return;
        cleanup();
        resolve(event);
      });
      const cleanup = (): void => {
        clearTimeout(timer);
        unsubscribe();
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  /** No more events will come: finish every stream and reject every waiter with `error`. */
  end(error: AtpError): void {
    this.endedWith = error;
    for (const stream of [...this.streams]) stream.finish();
    for (const waiter of [...this.waiters]) waiter.fail(error);
    this.listeners.clear();
  }
}
