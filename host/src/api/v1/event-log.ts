/**
 * The server's live event log: every run event, agent connect/leave, hub
 * metrics sample and log line, numbered 1, 2, 3… in the order they happened.
 * /api/v1/events streams it; a client that lost its connection resumes after
 * the last index it saw and gets every later event exactly once, in order.
 * The log keeps the last `capacity` events in memory; a resume from before
 * that is told so (`oldest`) rather than silently missing events (a run's
 * full record is in the run store).
 */
import type { ApiEvent, ApiEventKind } from '@atp/protocol';

export type ApiEventInput = { kind: ApiEventKind; runId?: string; data: Record<string, unknown> };

export class EventLog {
  private readonly buffer: ApiEvent[] = [];
  private nextIndex = 1;
  private readonly listeners = new Set<(event: ApiEvent) => void>();

  constructor(readonly capacity = 100_000) {}

  publish(input: ApiEventInput): ApiEvent {
    const event: ApiEvent = { index: this.nextIndex++, at: new Date().toISOString(), kind: input.kind, ...(input.runId === undefined ? {} : { runId: input.runId }), data: input.data };
    this.buffer.push(event);
    if (this.buffer.length > this.capacity) this.buffer.splice(0, this.buffer.length - this.capacity);
    for (const listener of [...this.listeners]) listener(event);
    return event;
  }

  /** The index of the last event published (0 before any). */
  get lastIndex(): number {
    return this.nextIndex - 1;
  }

  /** The oldest index still held (lastIndex + 1 when empty). */
  get oldest(): number {
    return this.buffer[0]?.index ?? this.nextIndex;
  }

  /** Events with index > `after`, in order (those still held). */
  since(after: number): ApiEvent[] {
    const first = this.buffer[0]?.index ?? this.nextIndex;
    return this.buffer.slice(Math.max(0, after + 1 - first));
  }

  /**
   * Calls `listener` with every event after `after` (held ones now, then live
   * ones as published), each once, in order. Returns the unsubscribe.
   */
  follow(after: number, listener: (event: ApiEvent) => void): () => void {
    for (const event of this.since(after)) listener(event);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
