import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeAgentMessage, parseAgentMessage } from '../src/agent-protocol.js';
import type { EventsBody, ObservedEvent } from '../src/agent-protocol.js';
import { RESEND_BUFFER_DEVICE, ReliableSender } from '../src/delivery.js';
import type { UnsequencedEvent } from '../src/delivery.js';
import { isAtpError } from '../src/errors.js';

const key = (i: number): UnsequencedEvent => ({ kind: 'key', key: 'KEY_A', action: i % 2 === 0 ? 'down' : 'up', t: i, device: 'kbd' });
const seqs = (batches: EventsBody[]): number[] => batches.flatMap((b) => b.events.map((e) => e.seq));
const isMarker = (e: ObservedEvent): boolean => e.device === RESEND_BUFFER_DEVICE;

describe('ReliableSender', () => {
  it('numbers events from 1 and reports the counters the hello carries', () => {
    const s = new ReliableSender({ bootId: 'boot-1' });
    expect(s.counters()).toEqual({ lastSeq: null, unacked: 0, overflowed: 0 });
    expect(s.push(key(0)).seq).toBe(1);
    expect(s.push(key(1)).seq).toBe(2);
    expect(s.counters()).toEqual({ lastSeq: 2, unacked: 2, overflowed: 0 });
  });

  it('validates events and rejects one that cannot fit in a frame without numbering it', () => {
    const s = new ReliableSender({ bootId: 'b', maxFrameBytes: 200 });
    expect(() => s.push({ kind: 'key', key: 'nope', action: 'down', t: 0, device: 'k' } as unknown as UnsequencedEvent)).toThrow(/key/);
    try {
      s.push({ kind: 'text', text: 'x'.repeat(500), t: 0, device: '' });
      expect.unreachable();
    } catch (error) {
      expect(isAtpError(error, 'ATP_FRAME_TOO_LARGE')).toBe(true);
    }
    expect(s.lastSeq).toBeNull();
  });

  it('sends each event once per connection and trims on cumulative ack', () => {
    const s = new ReliableSender({ bootId: 'b' });
    for (let i = 0; i < 5; i++) s.push(key(i));
    expect(seqs(s.takeBatches())).toEqual([1, 2, 3, 4, 5]);
    expect(s.takeBatches()).toEqual([]);
    expect(s.ack(3)).toBe(3);
    expect(s.unacked).toBe(2);
    expect(s.ack(2)).toBe(0);
    expect(s.ackedSeq).toBe(3);
    s.push(key(5));
    expect(seqs(s.takeBatches())).toEqual([6]);
  });

  it('after a reconnect resends only what follows welcome.ackedSeq', () => {
    const s = new ReliableSender({ bootId: 'b' });
    for (let i = 0; i < 6; i++) s.push(key(i));
    s.takeBatches();
    s.ack(2);
    s.restart(4);
    expect(seqs(s.takeBatches())).toEqual([5, 6]);
    s.restart(null);
    expect(seqs(s.takeBatches())).toEqual([5, 6]);
  });

  it('splits batches at maxEventsPerBatch and under the frame size, each batch a valid message', () => {
    const s = new ReliableSender({ bootId: 'b', maxEventsPerBatch: 7, maxFrameBytes: 2_000 });
    for (let i = 0; i < 100; i++) s.push({ kind: 'text', text: `t${i}`.padEnd(40, '.'), t: i, device: 'page' });
    const batches = s.takeBatches();
    expect(seqs(batches)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    for (const body of batches) {
      expect(body.events.length).toBeLessThanOrEqual(7);
      const bytes = encodeAgentMessage({ v: 1, type: 'events', body }, 2_000);
      expect(parseAgentMessage(JSON.parse(new TextDecoder().decode(bytes)))).toEqual({ v: 1, type: 'events', body });
    }
    const tight = new ReliableSender({ bootId: 'b', maxFrameBytes: 400 });
    for (let i = 0; i < 50; i++) tight.push({ kind: 'text', text: 'y'.repeat(60), t: i, device: 'page' });
    const small = tight.takeBatches();
    expect(small.length).toBeGreaterThan(10);
    for (const body of small) expect(() => encodeAgentMessage({ v: 1, type: 'events', body }, 400)).not.toThrow();
  });

  it('drops the oldest events when full, counts them and reports them with a sync-dropped marker', () => {
    const s = new ReliableSender({ bootId: 'b', capacity: 3 });
    for (let i = 0; i < 5; i++) s.push(key(i));
    expect(s.counters()).toEqual({ lastSeq: 5, unacked: 3, overflowed: 2 });
    const events = s.takeBatches().flatMap((b) => b.events);
    expect(events.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
    expect(events[3]).toMatchObject({ kind: 'sync-dropped', device: RESEND_BUFFER_DEVICE, lost: 2, t: 1 });
    expect(s.takeBatches()).toEqual([]);
  });

  it('rejects a nonsensical capacity', () => {
    expect(() => new ReliableSender({ bootId: 'b', capacity: 0 })).toThrow(/capacity/);
  });
});

type Op = { op: 'push'; n: number } | { op: 'send' } | { op: 'deliver'; n: number } | { op: 'ack' } | { op: 'reconnect'; lose: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('push' as const), n: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ op: fc.constant('send' as const) }),
  fc.record({ op: fc.constant('deliver' as const), n: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ op: fc.constant('ack' as const) }),
  fc.record({ op: fc.constant('reconnect' as const), lose: fc.boolean() }),
);

describe('ReliableSender under random push / send / ack / reconnect interleavings', () => {
  it('never resends what was acknowledged, loses nothing unless counted, keeps order', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 9 }), (ops, capacity, maxEvents) => {
        const s = new ReliableSender({ bootId: 'b', capacity, maxEventsPerBatch: maxEvents });
        // The host side: what is on the wire (not yet received), and what it has.
        let wire: ObservedEvent[] = [];
        const received = new Map<number, ObservedEvent>();
        let hostAcked = 0; // highest contiguous-or-gap-skipping seq the host acked
        let everAcked = 0;
        const delivered: number[] = [];
        for (const step of ops) {
          if (step.op === 'push') for (let i = 0; i < step.n; i++) s.push(key(i));
          else if (step.op === 'send') {
            for (const b of s.takeBatches()) {
              expect(b.events.length).toBeLessThanOrEqual(maxEvents);
              for (const e of b.events) {
                // Nothing the host acknowledged is ever sent again.
                expect(e.seq).toBeGreaterThan(everAcked);
                wire.push(e);
              }
            }
          } else if (step.op === 'deliver') {
            for (const e of wire.splice(0, step.n)) {
              if (!received.has(e.seq)) delivered.push(e.seq);
              received.set(e.seq, e);
              hostAcked = Math.max(hostAcked, e.seq);
            }
          } else if (step.op === 'ack') {
            s.ack(hostAcked);
            everAcked = Math.max(everAcked, hostAcked);
          } else {
            if (step.lose) wire = [];
            else {
              for (const e of wire) {
                if (!received.has(e.seq)) delivered.push(e.seq);
                received.set(e.seq, e);
                hostAcked = Math.max(hostAcked, e.seq);
              }
              wire = [];
            }
            s.restart(hostAcked);
            everAcked = Math.max(everAcked, hostAcked);
          }
        }
        // Drain: one last clean connection.
        s.restart(hostAcked);
        for (const b of s.takeBatches()) {
          for (const e of b.events) {
            if (received.has(e.seq)) continue;
            delivered.push(e.seq);
            received.set(e.seq, e);
          }
        }
        // Order: first deliveries arrive in strictly increasing seq.
        for (let i = 1; i < delivered.length; i++) expect(delivered[i]).toBeGreaterThan(delivered[i - 1] ?? 0);
        // Loss: every seq assigned either arrived or was counted as overflow (an overflowed
        // event may still have arrived: it was sent before it was dropped, unacknowledged).
        const last = s.lastSeq ?? 0;
        expect(received.size).toBeLessThanOrEqual(last);
        expect(last - received.size).toBeLessThanOrEqual(s.overflowed);
        if (s.overflowed === 0) expect(received.size).toBe(last);
        // Markers report at most what was lost, and the last one (made by the final send) always arrives.
        const reported = [...received.values()].filter(isMarker).reduce((n, e) => n + (e.kind === 'sync-dropped' ? (e.lost ?? 0) : 0), 0);
        expect(reported).toBeLessThanOrEqual(s.overflowed);
        if (s.overflowed > 0) expect(reported).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
