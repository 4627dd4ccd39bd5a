/**
 * The latencies a suite measured, kept for plots (report.ts LatencySamples):
 * each matched pair as [ms since the first measured send, latency ms], in send
 * order. The key and button matchers hand their pairs over one after the
 * other, so they are sorted by send time here. Pairs without a finite latency
 * are left out, as they are from the figures. With more than `max` pairs an
 * even spread by send order is kept (the first and the last included): the
 * histogram keeps the distribution's shape and the time plot its span, while
 * a report of a long run stays small. Values are rounded (0.1 ms for times,
 * 1 µs for latencies) so the JSON does not carry float noise. Pure.
 */
import { LATENCY_SAMPLES_MAX, type LatencySamples } from '@atp/protocol';
import type { LatencyPair } from './types.js';

/** Rounded to `digits` decimals (x·10^d rounded, then divided: no 0.30000000000000004). */
const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** Indexes 0..n-1 spread evenly over `keep` picks, first and last included. */
export function evenSpread(n: number, keep: number): number[] {
  if (n <= keep) return Array.from({ length: n }, (_, i) => i);
  if (keep <= 1) return keep === 1 ? [0] : [];
  return Array.from({ length: keep }, (_, i) => Math.round((i * (n - 1)) / (keep - 1)));
}

/**
 * The samples of `pairs` whose latencies are `values` (same order, as
 * computeLatency returns them); undefined when none is finite.
 */
export function latencySamples(pairs: readonly LatencyPair[], values: readonly number[], max = LATENCY_SAMPLES_MAX): LatencySamples | undefined {
  const measured = pairs
    .map((p, i) => ({ sentAt: p.sentAt, latency: values[i] ?? Number.NaN }))
    .filter((m) => Number.isFinite(m.sentAt) && Number.isFinite(m.latency))
    .sort((a, b) => a.sentAt - b.sentAt);
  const first = measured[0];
  if (first === undefined) return undefined;
  const points = evenSpread(measured.length, max).map((i): [number, number] => {
    const m = measured[i] ?? first;
    return [Math.max(0, round(m.sentAt - first.sentAt, 1)), round(m.latency, 3)];
  });
  return { total: measured.length, points };
}
