import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ObservedEvent } from '@atp/protocol';
import { ClockTracker, dedupeBatch, TokenBucket, TokenChecker } from '../src/hub/index.js';

const ev = (seq: number): ObservedEvent => ({ seq, t: seq, device: 'd', kind: 'rel', dx: 1, dy: 0 });

describe('dedupeBatch', () => {
  it('delivers each seq once, in order, whatever batches of resends arrive', () => {
    // Batches are windows [from, to] over 1..n, as an agent resending after reconnects would send them.
    const windows = fc.array(fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 20 })), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(windows, (ws) => {
        let high: number | null = null;
        const delivered: number[] = [];
        let dup = 0;
        for (const [from, len] of ws) {
          // A correct agent never starts past high + 1.
          const start = Math.min(from, (high ?? 0) + 1);
          const r = dedupeBatch(high, Array.from({ length: len + 1 }, (_, i) => ev(start + i)));
          expect(r.gaps).toEqual([]);
          delivered.push(...r.fresh.map((e) => e.seq));
          dup += r.duplicates;
          high = r.highest;
        }
        expect(delivered).toEqual(Array.from({ length: delivered.length }, (_, i) => i + 1));
        expect(dup + delivered.length).toBe(ws.reduce((a, [, len]) => a + len + 1, 0));
      }),
    );
  });

  it('accepts events past a hole and reports the hole', () => {
    const r = dedupeBatch(2, [ev(2), ev(3), ev(6), ev(9)]);
    expect(r.fresh.map((e) => e.seq)).toEqual([3, 6, 9]);
    expect(r.duplicates).toBe(1);
    expect(r.gaps).toEqual([
      { expected: 4, got: 6 },
      { expected: 7, got: 9 },
    ]);
    expect(r.highest).toBe(9);
    expect(dedupeBatch(null, [ev(3)]).gaps).toEqual([{ expected: 1, got: 3 }]);
  });
});

describe('TokenBucket', () => {
  it('allows the burst, then the sustained rate', () => {
    const b = new TokenBucket(10, 5, 0);
    expect(Array.from({ length: 6 }, () => b.take(0))).toEqual([true, true, true, true, true, false]);
    expect(b.take(100)).toBe(true); // 100 ms at 10/s refills one
    expect(b.take(100)).toBe(false);
  });
});

describe('TokenChecker', () => {
  it('accepts shared tokens, and only its own for an agent with a list', () => {
    const c = new TokenChecker({ tokens: ['shared'], agentTokens: { vip: ['mine'] } });
    expect(c.accepts('any', 'shared')).toBe(true);
    expect(c.accepts('any', 'shared!')).toBe(false);
    expect(c.accepts('vip', 'shared')).toBe(false);
    expect(c.accepts('vip', 'mine')).toBe(true);
    expect(() => new TokenChecker({})).toThrow(expect.objectContaining({ code: 'ATP_SCHEMA_INVALID' }));
  });
});

describe('ClockTracker', () => {
  it('matches pongs to pings and estimates the offset', () => {
    const t = new ClockTracker();
    expect(t.estimate()).toBeUndefined();
    for (let i = 0; i < 5; i++) {
      const t1 = i * 100;
      const id = t.ping(t1);
      // Remote clock is 5000 ms ahead, 2 ms each way.
      expect(t.pong({ id, t1, t2: t1 + 5002, t3: t1 + 5003 }, t1 + 5)).toBe(true);
    }
    expect(t.pong({ id: 999, t1: 0, t2: 0, t3: 0 }, 1)).toBe(false);
    expect(t.estimate()).toMatchObject({ offsetMs: 5000, delayMs: 4, samples: 5 });
  });
});
