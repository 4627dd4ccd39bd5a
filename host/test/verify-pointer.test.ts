import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { KeyId, ObservedEvent } from '@atp/protocol';
import type { InjectedAction, InputAction } from '../src/inject/actions.js';
import {
  absAxisToPixel,
  absToPixels,
  computeLatency,
  diffText,
  nearestRank,
  verifySuite,
} from '../src/verify/index.js';
import { pixelToAbs } from '../src/inject/pointer-scale.js';

const T0 = 1_700_000_000_000;
const SCREEN = { width: 1024, height: 768 };

function sent(actions: InputAction[], step?: number): InjectedAction[] {
  return actions.map((action, i) => ({ id: i + 1, action, sentAt: T0 + i * 10, ...(step === undefined ? {} : { step }) }));
}

let seq = 0;
const ev = (e: Record<string, unknown>): ObservedEvent => ({ seq: ++seq, t: T0 + 1000 + seq, device: 'tablet', ...e }) as ObservedEvent;
const abs = (xPx: number, yPx: number): ObservedEvent => ev({ kind: 'abs', x: pixelToAbs(xPx, SCREEN.width), y: pixelToAbs(yPx, SCREEN.height) });
const btn = (button: string, action: 'down' | 'up'): ObservedEvent => ev({ kind: 'button', button, action });

describe('absolute coordinates', () => {
  it('maps axis values to pixels with the range and screen size', () => {
    expect(absAxisToPixel(0, 0, 32767, 1024)).toBe(0);
    expect(absAxisToPixel(32767, 0, 32767, 1024)).toBe(1023);
    expect(absAxisToPixel(16384, 0, 32767, 1024)).toBe(512);
    expect(absAxisToPixel(2048, 0, 4095, 800)).toBe(400);
    expect(absAxisToPixel(150, 100, 200, 101)).toBe(50);
    expect(absAxisToPixel(7, 5, 5, 640)).toBe(0);
    expect(absToPixels(32767, 0, SCREEN)).toEqual({ x: 1023, y: 0 });
    expect(absToPixels(50, 100, SCREEN, { xMin: 0, xMax: 100, yMin: 0, yMax: 100 })).toEqual({ x: 512, y: 767 });
    expect(pixelToAbs(1023, 1024)).toBe(32767);
  });

  it("round-trips every pixel through the injector's inverse", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 16384 }).chain((w) => fc.tuple(fc.constant(w), fc.integer({ min: 0, max: w - 1 }))), ([w, px]) => {
        expect(absAxisToPixel(pixelToAbs(px, w), 0, 0x7fff, w)).toBe(px);
      }),
    );
  });
});

describe('pointer verification', () => {
  it('passes within tolerance and reports max and mean error', () => {
    const injected = sent([{ kind: 'move', x: 100, y: 100 }, { kind: 'button', button: 'left', down: true }, { kind: 'button', button: 'left', down: false }, { kind: 'move', x: 500, y: 300 }]);
    const r = verifySuite({ injected, observed: [abs(101, 100), btn('left', 'down'), btn('left', 'up'), abs(500, 302)], screen: SCREEN });
    expect(r.findings).toEqual([]);
    expect(r.verdict).toBe('pass');
    expect(r.pointer).toEqual({ samples: 2, maxErrorPx: 2, meanErrorPx: 1.5, tolerancePx: 2 });
    expect(r.counts).toMatchObject({ expected: 2, matched: 2 });
  });

  it('reports a position off by more than the tolerance, checked at the next button', () => {
    const injected = sent([{ kind: 'move', x: 50, y: 60 }, { kind: 'move', x: 200, y: 200 }, { kind: 'button', button: 'right', down: true }, { kind: 'button', button: 'right', down: false }], 6);
    const r = verifySuite({ injected, observed: [abs(50, 60), abs(203, 204), btn('right', 'down'), abs(10, 10), btn('right', 'up')], screen: SCREEN });
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ kind: 'pointer-error', step: 6, expected: { x: 200, y: 200, actionId: 2 }, observed: { x: 203, y: 204, errorPx: 5 } });
    expect(r.findings[0]?.message).toBe('pointer at (203, 204) before button transition 1, expected (200, 200) after move #2: off by 5 px > 2 px at step 6');
    expect(r.pointer).toMatchObject({ samples: 1, maxErrorPx: 5 });
    expect(r.verdict).toBe('fail');
  });

  it('takes the position before any abs event as the initial 0, 0 (evdev reports changes only)', () => {
    expect(verifySuite({ injected: sent([{ kind: 'move', x: 0, y: 1 }]), observed: [], screen: SCREEN }).verdict).toBe('pass');
    const r = verifySuite({ injected: sent([{ kind: 'move', x: 30, y: 40 }]), observed: [], screen: SCREEN });
    expect(r.findings.map((f) => f.kind)).toEqual(['pointer-error']);
    expect(r.findings[0]?.message).toBe('pointer at (0, 0) (no absolute event observed: still at the initial 0, 0) at the end, expected (30, 40) after move #1: off by 50 px > 2 px');
  });

  it('compares buttons like keys: a lost release is a stuck button, an unsent click is extra', () => {
    const click: InputAction[] = [{ kind: 'button', button: 'left', down: true }, { kind: 'button', button: 'left', down: false }];
    const stuck = verifySuite({ injected: sent(click), observed: [btn('left', 'down')], screen: SCREEN });
    expect(stuck.findings.map((f) => `${f.kind}:${String(f.observed?.['key'])}`)).toEqual(['stuck:BTN_LEFT']);
    const extra = verifySuite({ injected: sent(click), observed: [btn('left', 'down'), btn('left', 'up'), btn('BTN_RIGHT', 'down'), btn('right', 'up')], screen: SCREEN });
    expect(extra.findings.map((f) => f.message)).toEqual([expect.stringMatching(/^BTN_RIGHT click observed but never sent \(seq \d+, \d+\)$/)]);
    const swapped = verifySuite({ injected: sent(click), observed: [btn('right', 'down'), btn('right', 'up')], screen: SCREEN });
    expect(swapped.findings.map((f) => f.message)).toEqual([expect.stringMatching(/^expected BTN_LEFT, got BTN_RIGHT \(seq \d+, \d+\)$/)]);
  });

  it('totals wheel notches per direction, and checks the net relative motion', () => {
    const injected = sent([{ kind: 'wheel', dx: 0, dy: 3 }, { kind: 'wheel', dx: -1, dy: 0 }, { kind: 'moveBy', dx: 10, dy: -4 }]);
    const good = verifySuite({ injected, observed: [ev({ kind: 'wheel', dx: 0, dy: 2 }), ev({ kind: 'wheel', dx: 0, dy: 0, hiRes: { dx: 0, dy: 120 } }), ev({ kind: 'wheel', dx: -1, dy: 0 }), ev({ kind: 'rel', dx: 6, dy: -4 }), ev({ kind: 'rel', dx: 4, dy: 0 })], screen: SCREEN });
    expect(good.findings).toEqual([]);
    expect(good.verdict).toBe('pass');
    const bad = verifySuite({ injected, observed: [ev({ kind: 'wheel', dx: 0, dy: 2 }), ev({ kind: 'wheel', dx: 0, dy: -1 }), ev({ kind: 'rel', dx: 3, dy: -4 })], screen: SCREEN });
    expect(bad.findings.map((f) => f.message)).toEqual([
      '1 wheel notches up observed beyond the 0 sent',
      '1 of 3 wheel notches down never observed',
      '1 of 1 wheel notches left never observed',
      'relative motion netted (3, -4), expected (10, -4) over 1 moves: off by 7 units > 2',
    ]);
    expect(bad.counts).toMatchObject({ missing: 2, extra: 1 });
  });
});

describe('latency', () => {
  it('uses nearest-rank percentiles', () => {
    const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect([nearestRank(v, 50), nearestRank(v, 90), nearestRank(v, 95), nearestRank(v, 100), nearestRank(v, 0)]).toEqual([5, 9, 10, 10, 1]);
    expect(nearestRank([], 50)).toBeNaN();
  });

  it('recovers latencies through a known clock offset', () => {
    const offsetMs = -2000;
    const delays = [5, 7, 9, 11, 100];
    const injected: InjectedAction[] = delays.flatMap((_, i) => [
      { id: 2 * i + 1, action: { kind: 'key', key: 'KEY_A' as KeyId, down: true }, sentAt: T0 + i * 200 },
      { id: 2 * i + 2, action: { kind: 'key', key: 'KEY_A' as KeyId, down: false }, sentAt: T0 + i * 200 + 50 },
    ]);
    const observed: ObservedEvent[] = injected.map((a, k) => ({
      kind: 'key', key: 'KEY_A', action: k % 2 === 0 ? 'down' : 'up', seq: k + 1, device: 'kbd',
      t: a.sentAt + offsetMs + (delays[k >> 1] ?? 0),
    }));
    const r = verifySuite({ injected, observed, screen: SCREEN, clock: { offsetMs, uncertaintyMs: 0.3 } });
    expect(r.findings).toEqual([]);
    expect(r.latency).toEqual({ n: 10, p50Ms: 9, p95Ms: 100, p99Ms: 100, maxMs: 100, clockOffsetMs: -2000, clockUncertaintyMs: 0.3 });
  });

  it('reports impossible negative latencies as an error finding without clamping or failing', () => {
    const pairs = [{ sentAt: 1000, t: 5000 + 980 }, { sentAt: 2000, t: 5000 + 2010 }, { sentAt: 3000, t: 5000 + 2999.5 }];
    const r = computeLatency(pairs, { offsetMs: 5000, uncertaintyMs: 2 });
    expect(r.values).toEqual([-20, 10, -0.5]);
    expect(r.stats).toMatchObject({ n: 3, p50Ms: -0.5, maxMs: 10 });
    expect(r.finding?.kind).toBe('error');
    expect(r.finding?.message).toContain('1 of 3 latencies are negative beyond the clock uncertainty (min -20.0 ms');
    const injected = sent([{ kind: 'key', key: 'KEY_A' as KeyId, down: true }, { kind: 'key', key: 'KEY_A' as KeyId, down: false }]);
    const early: ObservedEvent[] = injected.map((a, k) => ({ kind: 'key', key: 'KEY_A', action: k === 0 ? 'down' : 'up', seq: k + 1, t: a.sentAt - 50, device: 'kbd' }));
    const suite = verifySuite({ injected, observed: early, screen: SCREEN, clock: { offsetMs: 0, uncertaintyMs: 1 } });
    expect(suite.findings.map((f) => f.kind)).toEqual(['error']);
    expect(suite.verdict).toBe('pass');
  });
});

describe('text', () => {
  it('shows exactly which characters differ', () => {
    expect(diffText('qwerty', 'azerty').diffs).toEqual([
      { pos: 0, actualPos: 0, expected: 'q', actual: 'a' },
      { pos: 1, actualPos: 1, expected: 'w', actual: 'z' },
    ]);
    expect(diffText('hello', 'helo')).toEqual({ matched: 4, diffs: [{ pos: 3, actualPos: -1, expected: 'l', actual: '' }] });
    expect(diffText('abc', 'abxc').diffs).toEqual([{ pos: 2, actualPos: 2, expected: '', actual: 'x' }]);
    expect(diffText('ab', 'abyz').diffs).toEqual([{ pos: 2, actualPos: 2, expected: '', actual: 'y' }, { pos: 2, actualPos: 3, expected: '', actual: 'z' }]);
    expect(diffText('€uro', '€uro').diffs).toEqual([]);
  });

  it('turns a text mismatch into one wrongText finding', () => {
    const injected = sent([{ kind: 'key', key: 'KEY_Q' as KeyId, down: true }, { kind: 'key', key: 'KEY_Q' as KeyId, down: false }]);
    const keys: ObservedEvent[] = [ev({ kind: 'key', key: 'KEY_Q', action: 'down' }), ev({ kind: 'key', key: 'KEY_Q', action: 'up' })];
    const texts = [ev({ kind: 'text', text: 'azer' }), ev({ kind: 'text', text: 'ty', composing: true }), ev({ kind: 'text', text: 'ty' })];
    const r = verifySuite({ injected, observed: [...keys, ...texts], screen: SCREEN, expectText: { text: 'qwerty', step: 2 } });
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ kind: 'wrongText', step: 2, expected: { text: 'qwerty' }, observed: { text: 'azerty' } });
    expect(r.findings[0]?.message).toBe('expected "qwerty", got "azerty": 2 characters differ (0: q→a, 1: w→z)');
    expect(r.counts).toMatchObject({ expected: 8, matched: 6, wrongText: 1 });
    const ok = verifySuite({ injected, observed: [...keys, ev({ kind: 'text', text: 'qwerty' })], screen: SCREEN, expectText: 'qwerty' });
    expect(ok.verdict).toBe('pass');
  });
});
