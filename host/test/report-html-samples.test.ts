/**
 * The data behind the HTML report's plots: latency samples from the verify
 * engine (sorted by send time, relative to the first send, rounded, bounded
 * by an even spread, in the report schema), and the plot arithmetic (nice
 * axes, histogram bins with an overflow bin for a long tail).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LATENCY_SAMPLES_MAX, parseReport, type KeyId } from '@atp/protocol';
import { evenSpread, latencySamples, verifySuite } from '../src/verify/index.js';
import type { InjectedAction } from '../src/inject/actions.js';
import { histogram, niceAxis, niceStep } from '../src/report/plots-scale.js';
import { passingSuite, sampleReport } from './report-fixture.js';

describe('latencySamples', () => {
  it('sorts by send time, starts at the first send, rounds, and leaves out what has no latency', () => {
    const pairs = [
      { sentAt: 2000.04, t: 0 },
      { sentAt: 1000, t: 0 },
      { sentAt: 1500.26, t: 0 },
      { sentAt: 1700, t: 0 },
    ];
    const values = [5.12345, 3.0004, 4.5, Number.NaN];
    expect(latencySamples(pairs, values)).toEqual({ total: 3, points: [[0, 3], [500.3, 4.5], [1000, 5.123]] });
    expect(latencySamples([{ sentAt: 1, t: 0 }], [Number.NaN])).toBeUndefined();
  });

  it('keeps an even spread, first and last included, when there are more than the bound', () => {
    const pairs = Array.from({ length: 5000 }, (_, i) => ({ sentAt: i * 10, t: 0 }));
    const values = pairs.map((_, i) => i);
    const s = latencySamples(pairs, values);
    expect(s?.total).toBe(5000);
    expect(s?.points).toHaveLength(LATENCY_SAMPLES_MAX);
    expect(s?.points[0]).toEqual([0, 0]);
    expect(s?.points.at(-1)).toEqual([49_990, 4999]);
    const gaps = (s?.points ?? []).slice(1).map((p, i) => p[1] - (s?.points[i]?.[1] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(4);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(6);
  });

  it('evenSpread gives distinct increasing indexes within range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 3000 }), (n, keep) => {
        const picks = evenSpread(n, keep);
        expect(picks.length).toBe(Math.min(n, keep));
        for (let i = 1; i < picks.length; i++) expect(picks[i]).toBeGreaterThan(picks[i - 1] ?? -1);
        if (picks.length > 1) expect([picks[0], picks.at(-1)]).toEqual([0, n - 1]);
      }),
    );
  });

  it('come out of verifySuite with one point per measured latency, and fit the report schema', () => {
    const injected: InjectedAction[] = [];
    for (let i = 0; i < 10; i++) {
      injected.push({ id: 2 * i + 1, action: { kind: 'key', key: 'KEY_A' as KeyId, down: true }, sentAt: 1000 + i * 100, step: 0 });
      injected.push({ id: 2 * i + 2, action: { kind: 'key', key: 'KEY_A' as KeyId, down: false }, sentAt: 1050 + i * 100, step: 0 });
    }
    const observed = injected.map((a, k) => ({ kind: 'key' as const, key: 'KEY_A', action: k % 2 === 0 ? ('down' as const) : ('up' as const), seq: k + 1, t: 5000 + a.sentAt + 3 + (k % 3), device: 'kbd' }));
    const r = verifySuite({ injected, observed, screen: { width: 1024, height: 768 }, clock: { offsetMs: 5000, uncertaintyMs: 0.2 } });
    expect(r.verdict).toBe('pass');
    expect(r.latencySamples?.total).toBe(r.latency?.n);
    expect(r.latencySamples?.points.map((p) => p[1])).toEqual(observed.map((_, k) => 3 + (k % 3)));
    expect(r.latencySamples?.points[19]?.[0]).toBe(950);
    const report = sampleReport([{ ...passingSuite(), ...(r.latencySamples === undefined ? {} : { latencySamples: r.latencySamples }) }]);
    expect(report.suites[0]?.latencySamples?.points).toHaveLength(20);
  });

  it('are refused by the schema past the bound', () => {
    const points = Array.from({ length: LATENCY_SAMPLES_MAX + 1 }, (_, i): [number, number] => [i, 1]);
    const json = JSON.parse(JSON.stringify(sampleReport([passingSuite()]))) as { suites: Record<string, unknown>[] };
    const suite = json.suites[0];
    if (suite !== undefined) suite['latencySamples'] = { total: points.length, points };
    expect(() => parseReport(json)).toThrow(/suites\[0\]\.latencySamples\.points/);
  });
});

describe('plot arithmetic', () => {
  it('picks steps of 1, 2, 2.5 and 5 times a power of ten', () => {
    expect([0.013, 0.3, 0.9, 1.1, 2.2, 4, 7, 45, 230].map(niceStep)).toEqual([0.02, 0.5, 1, 2, 2.5, 5, 10, 50, 250]);
  });

  it('ends an axis on ticks around the data, and widens a flat range', () => {
    expect(niceAxis(0.3, 21.5, 5)).toMatchObject({ lo: 0, hi: 25, step: 5, ticks: [0, 5, 10, 15, 20, 25] });
    expect(niceAxis(-3.2, 7.9, 4).ticks).toEqual([-5, 0, 5, 10]);
    expect(niceAxis(-3.2, 7.9, 8).ticks).toEqual([-4, -2, 0, 2, 4, 6, 8]);
    const flat = niceAxis(4, 4);
    expect(flat.lo).toBeLessThan(4);
    expect(flat.hi).toBeGreaterThan(4);
    expect(niceAxis(0, 0)).toMatchObject({ lo: 0, hi: 1 });
  });

  it('bins every value once and moves a long tail into one overflow bin', () => {
    const values = [...Array.from({ length: 200 }, (_, i) => 2 + (i % 30) / 10), 400];
    const h = histogram(values);
    expect(h.bins.reduce((n, b) => n + b.count, 0)).toBe(201);
    const last = h.bins.at(-1);
    expect(last).toMatchObject({ overflow: true, count: 1, to: 400 });
    expect(h.bins.filter((b) => b.overflow !== true).every((b) => b.to <= 6)).toBe(true);
    expect(histogram([]).bins).toEqual([]);
    expect(histogram([5, 5, 5]).bins).toEqual([{ from: 5, to: 6, count: 3 }]);
  });

  it('keeps a short tail on the axis (no overflow bin below 50 values)', () => {
    const h = histogram([1, 2, 3, 400]);
    expect(h.bins.some((b) => b.overflow === true)).toBe(false);
    expect(h.bins.reduce((n, b) => n + b.count, 0)).toBe(4);
  });
});
