/**
 * Exactly-once by (agentId, bootId, seq), pure. `highest` is the highest seq
 * already accepted for the boot (null before the first). Events at or below it
 * are duplicates (resends after a reconnect) and are dropped.
 *
 * Gaps: a correct agent never skips a seq (it resends everything unacknowledged
 * and reports buffer overflow in hello). If a seq is skipped anyway, the events
 * that did arrive are ACCEPTED and the gap is reported (counted, and a `gap`
 * item in the stream). Reason: refusing them would not bring the missing ones
 * back (the agent cannot resend what it no longer holds) and would throw away
 * real observations; the verifier sees the hole and can judge the run.
 */
import type { ObservedEvent } from '@atp/protocol';

export interface DedupeGap {
  /** The seq that should have come next. */
  expected: number;
  /** The seq that came instead. */
  got: number;
}

export interface DedupeResult {
  /** Events to deliver, in order. */
  fresh: ObservedEvent[];
  /** Events dropped as already accepted. */
  duplicates: number;
  /** Holes, in order; each one is reported before the event at `got`. */
  gaps: DedupeGap[];
  /** The new highest accepted seq. */
  highest: number | null;
}

/** `events` must have strictly increasing seqs (the events schema guarantees it). */
export function dedupeBatch(highest: number | null, events: readonly ObservedEvent[]): DedupeResult {
  const fresh: ObservedEvent[] = [];
  const gaps: DedupeGap[] = [];
  let duplicates = 0;
  let high = highest;
  for (const event of events) {
    if (high !== null && event.seq <= high) {
      duplicates++;
      continue;
    }
    const expected = (high ?? 0) + 1;
    if (event.seq > expected) gaps.push({ expected, got: event.seq });
    fresh.push(event);
    high = event.seq;
  }
  return { fresh, duplicates, gaps, highest: high };
}
