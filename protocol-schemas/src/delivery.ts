/**
 * Sender-side reliable delivery for the agent protocol, pure and browser-safe
 * (the agent and the web verifier share it; no timers, no I/O).
 *
 * - Every pushed event gets the next `seq` of this boot (1, 2, 3, ...).
 * - Events stay in a bounded resend buffer until the host acknowledges them
 *   cumulatively (`ack.seq`, or `welcome.ackedSeq` after a (re)connect).
 * - After a (re)connect, `restart(welcome.ackedSeq)` trims what the host already
 *   has and marks the rest as unsent; `takeBatches()` then yields it again, in
 *   seq order, split to MAX_EVENTS_PER_BATCH and under the frame size.
 *
 * Overflow policy: when the buffer is full, the OLDEST unacknowledged events
 * are dropped. Newest-wins because the freshest input is what a running test
 * step waits for, while the oldest events belong to steps that have most likely
 * timed out already. The loss is never silent: `overflowed` counts every dropped
 * event (the hello reports it), the host sees the gap in seq, and the next
 * batch carries a `sync-dropped` event on device RESEND_BUFFER_DEVICE whose
 * `lost` is the number of events dropped since the previous such marker. The
 * marker is an ordinary event with its own seq, so it is delivered reliably
 * too; it may take the buffer one past its capacity until the next push.
 * A dropped event may have been sent before it was dropped (sent, not yet
 * acknowledged), so `lost` is an upper bound; the host's seq gaps are exact.
 */
import { AtpError } from './errors.js';
import { AGENT_MAX_FRAME_BYTES, MAX_EVENTS_PER_BATCH, PROTOCOL_VERSION } from './agent-protocol.js';
import type { EventsBody, ObservedEvent, ObservedEventInput } from './agent-protocol.js';
import { ObservedEventSchema } from './agent-events.js';
import { parseWith } from './validate.js';

/** An event as a capture backend produces it: everything but `seq`. */
export type UnsequencedEvent = ObservedEventInput extends infer E ? (E extends unknown ? Omit<E, 'seq'> : never) : never;

/** Device id of the `sync-dropped` marker that reports resend-buffer overflow. */
export const RESEND_BUFFER_DEVICE = 'atp-agent:resend-buffer';
export const DEFAULT_RESEND_CAPACITY = 100_000;

export interface ReliableSenderOptions {
  /** New for every start of the agent; seq restarts at 1 with it. */
  bootId: string;
  /** Most unacknowledged events kept (>= 1). */
  capacity?: number;
  maxEventsPerBatch?: number;
  /** Largest encoded `events` message, newline excluded. */
  maxFrameBytes?: number;
}

/** What the hello reports about delivery. */
export interface DeliveryCounters {
  lastSeq: number | null;
  unacked: number;
  overflowed: number;
}

interface Entry {
  event: ObservedEvent;
  bytes: number;
}

const utf8 = new TextEncoder();
const byteLength = (value: unknown): number => utf8.encode(JSON.stringify(value)).length;

/** Bounded, seq-ordered FIFO of unacknowledged events with O(1) amortised shift. */
export class ResendBuffer {
  private items: Entry[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  at(index: number): Entry | undefined {
    return this.items[this.head + index];
  }

  append(entry: Entry): void {
    this.items.push(entry);
  }

  shift(): Entry | undefined {
    const entry = this.items[this.head];
    if (entry === undefined) return undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  /** Removes every entry with seq <= `seq`; returns how many. */
  trimThrough(seq: number): number {
    let removed = 0;
    while ((this.at(0)?.event.seq ?? Number.POSITIVE_INFINITY) <= seq) {
      this.shift();
      removed++;
    }
    return removed;
  }
}

export class ReliableSender {
  readonly bootId: string;
  readonly capacity: number;
  private readonly maxEvents: number;
  private readonly maxFrameBytes: number;
  /** Bytes of an `events` message with an empty array for this boot id. */
  private readonly overheadBytes: number;
  private readonly buffer = new ResendBuffer();
  /** Entries at the buffer's front that were sent on the current connection. */
  private sentCount = 0;
  private nextSeq = 1;
  private acked: number | null = null;
  private overflowTotal = 0;
  private overflowUnreported = 0;
  private lastDroppedT = 0;

  constructor(options: ReliableSenderOptions) {
    this.bootId = options.bootId;
    this.capacity = options.capacity ?? DEFAULT_RESEND_CAPACITY;
    this.maxEvents = Math.min(options.maxEventsPerBatch ?? MAX_EVENTS_PER_BATCH, MAX_EVENTS_PER_BATCH);
    this.maxFrameBytes = options.maxFrameBytes ?? AGENT_MAX_FRAME_BYTES;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) {
      throw new AtpError('ATP_SCHEMA_INVALID', `resend buffer capacity must be an integer >= 1, got ${this.capacity}`);
    }
    if (!Number.isInteger(this.maxEvents) || this.maxEvents < 1) {
      throw new AtpError('ATP_SCHEMA_INVALID', `maxEventsPerBatch must be an integer >= 1, got ${this.maxEvents}`);
    }
    this.overheadBytes = byteLength({ v: PROTOCOL_VERSION, type: 'events', body: { bootId: this.bootId, events: [] } });
  }

  /** Highest seq assigned, null before the first event. */
  get lastSeq(): number | null {
    return this.nextSeq === 1 ? null : this.nextSeq - 1;
  }

  /** Highest seq the host has acknowledged, null before the first ack. */
  get ackedSeq(): number | null {
    return this.acked;
  }

  /** Events in the resend buffer (sent or not). */
  get unacked(): number {
    return this.buffer.length;
  }

  /** Events not yet sent on the current connection. */
  get pending(): number {
    return this.buffer.length - this.sentCount + (this.overflowUnreported > 0 ? 1 : 0);
  }

  /** Events dropped from a full buffer since this boot began. */
  get overflowed(): number {
    return this.overflowTotal;
  }

  counters(): DeliveryCounters {
    return { lastSeq: this.lastSeq, unacked: this.unacked, overflowed: this.overflowed };
  }

  /**
   * Numbers and buffers one event; returns it with its seq. Throws
   * ATP_SCHEMA_INVALID for an invalid event, ATP_FRAME_TOO_LARGE for one that
   * could never fit in a frame (nothing is numbered or buffered then).
   */
  push(input: UnsequencedEvent): ObservedEvent {
    const event = parseWith(ObservedEventSchema, { ...input, seq: this.nextSeq }, { what: 'observed event' });
    const bytes = byteLength(event);
    if (this.overheadBytes + bytes > this.maxFrameBytes) {
      throw new AtpError('ATP_FRAME_TOO_LARGE', `event of ${bytes} bytes cannot fit in a frame of ${this.maxFrameBytes} bytes`, {
        details: { size: bytes, maxBytes: this.maxFrameBytes },
      });
    }
    while (this.buffer.length >= this.capacity) this.dropOldest();
    this.nextSeq++;
    this.buffer.append({ event, bytes });
    return event;
  }

  /** Cumulative ack: forgets every event with seq <= `seq`. Returns how many were removed. */
  ack(seq: number): number {
    if (!Number.isInteger(seq) || seq < 0) return 0;
    const through = Math.min(seq, this.lastSeq ?? 0);
    if (this.acked === null || through > this.acked) this.acked = through;
    const removed = this.buffer.trimThrough(through);
    this.sentCount = Math.max(0, this.sentCount - removed);
    return removed;
  }

  /** A new connection was welcomed: trim what the host has, and resend everything else. */
  restart(hostAckedSeq: number | null): void {
    if (hostAckedSeq !== null) this.ack(hostAckedSeq);
    this.sentCount = 0;
  }

  /** Everything not yet sent on this connection, as `events` bodies in seq order; marks it sent. */
  takeBatches(): EventsBody[] {
    this.appendOverflowMarker();
    const batches: EventsBody[] = [];
    let events: ObservedEvent[] = [];
    let size = this.overheadBytes;
    for (let i = this.sentCount; i < this.buffer.length; i++) {
      const entry = this.buffer.at(i);
      if (entry === undefined) break;
      // +1 for the comma between array items.
      const extra = entry.bytes + (events.length > 0 ? 1 : 0);
      if (events.length > 0 && (events.length >= this.maxEvents || size + extra > this.maxFrameBytes)) {
        batches.push({ bootId: this.bootId, events });
        events = [];
        size = this.overheadBytes;
      }
      events.push(entry.event);
      size += entry.bytes + (events.length > 1 ? 1 : 0);
    }
    if (events.length > 0) batches.push({ bootId: this.bootId, events });
    this.sentCount = this.buffer.length;
    return batches;
  }

  private dropOldest(): void {
    const dropped = this.buffer.shift();
    if (dropped === undefined) return;
    this.overflowTotal++;
    this.overflowUnreported++;
    this.lastDroppedT = dropped.event.t;
    if (this.sentCount > 0) this.sentCount--;
  }

  private appendOverflowMarker(): void {
    if (this.overflowUnreported === 0) return;
    const event = parseWith(
      ObservedEventSchema,
      { seq: this.nextSeq, t: this.lastDroppedT, device: RESEND_BUFFER_DEVICE, kind: 'sync-dropped', lost: this.overflowUnreported },
      { what: 'overflow marker' },
    );
    this.nextSeq++;
    this.overflowUnreported = 0;
    this.buffer.append({ event, bytes: byteLength(event) });
  }
}
