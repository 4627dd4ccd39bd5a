import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, backoffDelay } from '../src/backoff.js';

const noJitter = { jitter: 0 };

describe('backoffDelay', () => {
  it('grows by the factor from the initial delay', () => {
    const delays = [0, 1, 2, 3].map((a) => backoffDelay(a, { initialMs: 100, factor: 2, ...noJitter }));
    expect(delays).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(2, { initialMs: 10, factor: 3, ...noJitter })).toBe(90);
  });

  it('never exceeds the cap, even for huge attempt numbers', () => {
    expect(backoffDelay(10, { initialMs: 100, maxMs: 5000, ...noJitter })).toBe(5000);
    expect(backoffDelay(1e6, { ...noJitter })).toBe(DEFAULT_BACKOFF.maxMs);
    expect(backoffDelay(Number.POSITIVE_INFINITY, { ...noJitter })).toBe(DEFAULT_BACKOFF.maxMs);
  });

  it('treats a negative or NaN attempt as the first', () => {
    expect(backoffDelay(-3, noJitter)).toBe(DEFAULT_BACKOFF.initialMs);
    expect(backoffDelay(Number.NaN, noJitter)).toBe(DEFAULT_BACKOFF.initialMs);
    expect(backoffDelay(1e6, { initialMs: 0, ...noJitter })).toBe(0);
  });

  it('jitter removes at most the jitter fraction of the delay', () => {
    const opts = { initialMs: 1000, maxMs: 1000, jitter: 0.5 };
    expect(backoffDelay(0, opts, () => 0)).toBe(1000);
    expect(backoffDelay(0, opts, () => 0.5)).toBe(750);
    expect(backoffDelay(0, opts, () => 0.999999)).toBe(500);
  });

  it('property: every delay lies in [base·(1 − jitter), base] for random draws in [0, 1)', () => {
    fc.assert(
      fc.property(
        fc.nat(40),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, jitter, r) => {
          const opts = { initialMs: 50, maxMs: 8000, factor: 2, jitter };
          const base = Math.min(8000, 50 * 2 ** attempt);
          const d = backoffDelay(attempt, opts, () => r);
          expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
          expect(d).toBeLessThanOrEqual(base);
        },
      ),
    );
  });

  it('clamps a jitter outside [0, 1]', () => {
    expect(backoffDelay(0, { initialMs: 100, jitter: 5 }, () => 0.5)).toBe(50);
    expect(backoffDelay(0, { initialMs: 100, jitter: -1 }, () => 0.5)).toBe(100);
  });
});
